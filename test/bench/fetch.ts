// Cold fetch + verify of one large object from a local MinIO, against the limits measured in the
// same run, and against KServe's storage initializer downloading the same object.
//   limits:   curl GET of the object to /dev/null (SigV4-signed, like a presigned URL)
//             node:crypto SHA-256 over an in-memory buffer
//             writing the same number of bytes into the cache directory (+ fsync)
//   modelpin: `modelpin fetch` (built CLI), cold cache; then warm-cache reuse
//   KServe:   Storage.download('s3://...', out_dir) in the peers Python (kserve-storage)
// Prints a markdown table with throughput, wall time, CPU time (the client's, and MinIO's
// meanwhile) and peak RSS; the CPU any design needs at the target rate; and the target ratios:
// modelpin ≥ 0.8 × the lowest limit, faster than KServe, peak RSS ≤ 150 MB, warm ≤ 50 ms + confirm.
// Then the warm cache: what a restart costs with the default re-verification (re-hash of the
// file; with readModel the single read into memory + hash; for a tar the archive hash + tree
// comparison) against the MODELPIN_CACHE_VERIFY=size opt-out, and the CLI process.
// Run from the repository root (about 1–2 minutes at 1 GiB):
//   npm run build && npm run bench -- fetch
//   BENCH_WARM_ONLY=1 npm run bench -- fetch     # only the warm-cache rows (no MinIO; ~1 min)
// Env: BENCH_SIZE_MB (default 1024), BENCH_RUNS (default 3), BENCH_PART_MB / BENCH_CONCURRENCY (modelpin's ranged GETs,
// default 4 / 4, the built-in defaults), BENCH_WARM_RUNS (default 5), MODELPIN_BENCH_CLI (default dist/modelpin.js),
// MODELPIN_PEERS_PYTHON, MODELPIN_MINIO_BIN.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { fetchArtifact } from '../../sidecar/fetch/index.js';
import { startMinio } from '../integration/support/minio.js';
import { startCrane, type Registry } from '../integration/support/registry.js';
import { repoRoot } from '../tools/repo-root.js';


const root = repoRoot();
// MODELPIN_BENCH_CLI: a copy of dist/ elsewhere, so a concurrent `npm run build` cannot pull it away mid-run.
const cli = process.env.MODELPIN_BENCH_CLI ?? join(root, 'dist/modelpin.js');
const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 1024);
const SIZE = SIZE_MB * 1024 * 1024;
const PART_MB = Number(process.env.BENCH_PART_MB ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const WARM_RUNS = Math.max(1, Number(process.env.BENCH_WARM_RUNS ?? 5));
const WARM_ONLY = process.env.BENCH_WARM_ONLY === '1';
const python = process.env.MODELPIN_PEERS_PYTHON ?? '/root/.cache/modelpin/venv-peers/bin/python';
const MiB = 1024 * 1024;

if (!existsSync(cli)) {
  console.error(`${cli} is missing: run \`npm run build\` first`);
  process.exit(1);
}

interface Row {
  what: string;
  seconds: number;
  /** CPU seconds of the client (user + system). */
  cpu?: number;
  /** CPU seconds MinIO spent meanwhile. */
  serverCpu?: number;
  rssMb?: number;
  note?: string;
}

/** Run a command under /usr/bin/time -v (if present) and return wall time, CPU time (user + system), peak RSS, output. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; cpu?: number; rssMb?: number; stdout: string; stderr: string; status: number | null } {
  const useTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = spawnSync(useTime ? '/usr/bin/time' : cmd, useTime ? ['-v', cmd, ...args] : args, { env, encoding: 'utf8', maxBuffer: 64 * MiB });
  const seconds = (performance.now() - t0) / 1000;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr);
  return {
    seconds,
    ...(user && sys ? { cpu: Number(user[1]) + Number(sys[1]) } : {}),
    ...(m ? { rssMb: Number(m[1]) / 1024 } : {}),
    stdout: r.stdout,
    stderr: r.stderr,
    status: r.status,
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function processCpu(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds this process uses while `fn` runs. */
async function inProcessCpu<T>(fn: () => Promise<T>): Promise<{ value: T; cpu: number }> {
  const c0 = process.cpuUsage();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, cpu: (c.user + c.system) / 1e6 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** A file of SIZE random bytes; returns its digest. */
async function randomFile(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'w');
  const chunk = 8 * MiB;
  for (let off = 0; off < SIZE; off += chunk) {
    const b = randomBytes(Math.min(chunk, SIZE - off));
    h.update(b);
    await fh.write(b);
  }
  await fh.close();
  return `sha256:${h.digest('hex')}`;
}

const sha256Of = async (path: string) => {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 8 * MiB }) as AsyncIterable<Buffer>) h.update(c);
  return `sha256:${h.digest('hex')}`;
};

interface WarmRow {
  what: string;
  ms: number;
  note?: string;
}

/**
 * Warm-cache rows. `uri`/`digest` name an artifact already fetched into `cacheDir`; `offline`
 * makes any network use fail (a hit must not need it). A tar of the same size is built from
 * `localFile` for the tar rows.
 */
async function warmRows(work: string, cacheDir: string, uri: string, digest: string, offline: NodeJS.ProcessEnv, localFile: string): Promise<{ rows: WarmRow[]; cliMs: number; bareMs: number; inProcessMs: number }> {
  const rows: WarmRow[] = [];
  const hit = async (extra: Partial<Parameters<typeof fetchArtifact>[0]>) => {
    const r = await fetchArtifact({ uri, digest, cacheDir, env: offline, progress: false, ...extra });
    if (!r.cached) throw new Error('warm fetch was not a cache hit');
    return r;
  };
  const medianOf = async (n: number, f: () => Promise<{ durationMs: number }>) => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) xs.push((await f()).durationMs);
    return median(xs);
  };
  const sizeMs = await medianOf(20, () => hit({ cacheVerify: 'size' }));
  rows.push({ what: 'cache hit, `MODELPIN_CACHE_VERIFY=size` (opt-out: stat + size), median of 20', ms: sizeMs });
  rows.push({ what: `cache hit, default (re-hash the file), median of ${WARM_RUNS}`, ms: await medianOf(WARM_RUNS, () => hit({})) });
  const readMs = await medianOf(WARM_RUNS, async () => {
    const r = await hit({ readModel: true });
    if (r.modelBytes?.byteLength !== SIZE) throw new Error('readModel returned the wrong size');
    return r;
  });
  rows.push({ what: `cache hit, default + \`readModel\` (one read into a SharedArrayBuffer, hashed in memory), median of ${WARM_RUNS}`, ms: readMs });
  rows.push({ what: `cache hit, \`size\` + \`readModel\` (the read alone), median of ${WARM_RUNS}`, ms: await medianOf(WARM_RUNS, () => hit({ readModel: true, cacheVerify: 'size' })) });

  // A fresh fetch of a local copy, with and without keeping the bytes for readModel: what the
  // in-memory copy costs, against reading the committed file back and hashing it (readMs).
  // Interleaved, so the disk's writeback of one run weighs on both alike.
  const freshMs: Record<'plain' | 'kept', number[]> = { plain: [], kept: [] };
  for (let i = 0; i < Math.min(3, WARM_RUNS); i++) {
    for (const mode of ['plain', 'kept'] as const) {
      const dir = join(work, `fresh-${mode}-${i}`);
      const r = await fetchArtifact({ uri: localFile, digest, cacheDir: dir, env: offline, progress: false, readModel: mode === 'kept' });
      freshMs[mode].push(r.durationMs);
      await rm(dir, { recursive: true, force: true });
    }
  }
  const plain = median(freshMs.plain);
  const kept = median(freshMs.kept);
  rows.push({ what: 'fresh fetch of a local file (file://, fsync included), median of 3', ms: plain });
  rows.push({ what: 'the same with `readModel` (bytes kept while downloading, hashed from that copy), median of 3', ms: kept, note: `${kept >= plain ? '+' : ''}${(kept - plain).toFixed(0)} ms; reading back + hashing instead would add ~${readMs.toFixed(0)} ms` });

  // tar: one file of the same size in an archive.
  const tarDir = join(work, 'tar-src');
  await mkdir(tarDir, { recursive: true });
  await rename(localFile, join(tarDir, 'model.onnx'));
  const tarFile = join(work, 'model.tar');
  execFileSync('tar', ['-cf', tarFile, '-C', tarDir, 'model.onnx']);
  await rename(join(tarDir, 'model.onnx'), localFile);
  const tarDigest = await sha256Of(tarFile);
  const tarCache = join(work, 'tar-cache');
  await fetchArtifact({ uri: tarFile, digest: tarDigest, format: 'tar', cacheDir: tarCache, env: offline, progress: false });
  const tarHit = async (extra: Partial<Parameters<typeof fetchArtifact>[0]>) => {
    const r = await fetchArtifact({ uri: tarFile, digest: tarDigest, format: 'tar', cacheDir: tarCache, env: offline, progress: false, ...extra });
    if (!r.cached) throw new Error('warm tar fetch was not a cache hit');
    return r;
  };
  rows.push({ what: 'tar cache hit, `size` (stat of the entry), median of 20', ms: await medianOf(20, () => tarHit({ cacheVerify: 'size' })) });
  rows.push({ what: `tar cache hit, default (hash the archive + compare the extracted tree), median of ${WARM_RUNS}`, ms: await medianOf(WARM_RUNS, () => tarHit({})) });
  await rm(tarFile);
  await rm(tarCache, { recursive: true, force: true });
  await rm(tarDir, { recursive: true, force: true });

  const env = { ...process.env, ...offline, NODE_NO_WARNINGS: '1' };
  const warmCli: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 7; i++) {
    warmCli.push(timed(process.execPath, [cli, 'fetch', '--uri', uri, '--digest', digest, '--cache-dir', cacheDir, '--log-level', 'warn'], { ...env, MODELPIN_CACHE_VERIFY: 'size' }).seconds * 1000);
    bare.push(timed(process.execPath, ['-e', '0']).seconds * 1000);
  }
  const cliDefault: number[] = [];
  for (let i = 0; i < Math.min(3, WARM_RUNS); i++) cliDefault.push(timed(process.execPath, [cli, 'fetch', '--uri', uri, '--digest', digest, '--cache-dir', cacheDir, '--log-level', 'warn'], env).seconds * 1000);
  rows.push({ what: '`modelpin fetch` process, cache hit, `size`, median of 7', ms: median(warmCli) });
  rows.push({ what: '`modelpin fetch` process, cache hit, default (re-hash), median of 3', ms: median(cliDefault) });
  rows.push({ what: '`node -e 0` (process start-up baseline), median of 7', ms: median(bare) });
  return { rows, cliMs: median(warmCli), bareMs: median(bare), inProcessMs: sizeMs };
}

function printWarm(rows: WarmRow[]): void {
  console.log('');
  console.log(`| warm cache, ${SIZE_MB} MiB | ms | note |`);
  console.log('| --- | ---: | --- |');
  for (const r of rows) console.log(`| ${r.what} | ${r.ms < 10 ? r.ms.toFixed(2) : r.ms.toFixed(0)} | ${r.note ?? ''} |`);
}

/** BENCH_WARM_ONLY=1: the warm-cache rows alone, from a local file (no MinIO, no KServe). */
async function warmOnly(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'modelpin-bench-warm-'));
  try {
    const src = join(work, 'object.bin');
    const digest = await randomFile(src);
    const cacheDir = join(work, 'cache');
    await fetchArtifact({ uri: src, digest, cacheDir, env: {}, progress: false });
    console.log(`\n### fetch benchmark, warm cache only: ${SIZE_MB} MiB (${new Date().toISOString().slice(0, 10)}, ${process.version}, file:// source)`);
    // The source stays: the fresh-fetch rows read it; a hit must not (checked: cached).
    const { rows } = await warmRows(work, cacheDir, src, digest, {}, src);
    printWarm(rows);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (WARM_ONLY) return warmOnly();
  const work = await mkdtemp(join(tmpdir(), 'modelpin-bench-fetch-'));
  const minio = await startMinio();
  const rows: Row[] = [];
  let crane: Registry | undefined;
  try {
    // ---- the object: random bytes, uploaded multipart ------------------------------------
    const src = join(work, 'object.bin');
    const digest = await randomFile(src);
    await minio.createBucket('bench');
    const tUp = performance.now();
    await new Upload({ client: minio.client, params: { Bucket: 'bench', Key: 'model.onnx', Body: createReadStream(src) }, partSize: 64 * MiB, queueSize: 2 }).done();
    console.error(`uploaded ${SIZE_MB} MiB to MinIO in ${((performance.now() - tUp) / 1000).toFixed(1)} s; digest ${digest}`);
    // The same bytes as an OCI artifact in a local registry (go-containerregistry's, in memory).
    let ociUri: string | undefined;
    if (process.env.BENCH_OCI !== '0') {
      try {
        crane = await startCrane();
        const tPush = performance.now();
        const pub = timed(process.execPath, [cli, 'publish', src, `oci://${crane.host}/bench/model:v1`, '-o', 'json']);
        if (pub.status !== 0) throw new Error(pub.stderr);
        ociUri = (JSON.parse(pub.stdout) as { uri: string }).uri;
        console.error(`pushed ${SIZE_MB} MiB to crane's registry in ${((performance.now() - tPush) / 1000).toFixed(1)} s; ${ociUri}`);
      } catch (e) {
        console.error(`no OCI rows: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    const url = `${minio.endpoint}/bench/model.onnx`;

    // Reference (not a limit of the machine): what Node's own HTTP client can receive and drop
    // here, with no hashing or writing. Needs an unsigned GET, hence the public-read policy.
    await minio.client.send(
      new PutBucketPolicyCommand({
        Bucket: 'bench',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::bench/*'] }] }),
      }),
    );
    const env = { ...process.env, ...minio.env, MODELPIN_REPORT_RSS: '1', MODELPIN_FETCH_PART_SIZE: String(PART_MB * MiB), NODE_NO_WARNINGS: '1' };
    const cacheDir = join(work, 'cache');
    const kOut = join(work, 'kserve-out');
    const port = new URL(minio.endpoint).port;
    const kenv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: minio.accessKey,
      AWS_SECRET_ACCESS_KEY: minio.secretKey,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: minio.endpoint,
      S3_ENDPOINT: `127.0.0.1:${port}`,
      S3_USE_HTTPS: '0',
      S3_VERIFY_SSL: '0',
    };
    const kScript = [
      'import json, sys, time',
      't0 = time.time()',
      'try:',
      '    from kserve_storage import Storage',
      'except ImportError:',
      '    from kserve.storage import Storage',
      't1 = time.time()',
      'Storage.download(sys.argv[1], sys.argv[2])',
      't2 = time.time()',
      'print(json.dumps({"import_s": t1 - t0, "download_s": t2 - t1}))',
    ].join('\n');

    type Sample = { seconds: number; cpu?: number; serverCpu?: number; rssMb?: number; note?: string };
    const fetchRow = (uri: string, conc: number, note: string) => async (): Promise<Sample> => {
      await rm(cacheDir, { recursive: true, force: true });
      const r = timed(process.execPath, [cli, 'fetch', '--uri', uri, '--digest', digest, '--cache-dir', cacheDir, '--log-level', 'warn'], { ...env, MODELPIN_FETCH_CONCURRENCY: String(conc) });
      if (r.status !== 0) throw new Error(`modelpin fetch failed: ${r.stderr}`);
      if (statSync(r.stdout.trim()).size !== SIZE) throw new Error('modelpin wrote the wrong size');
      const nodeRss = /modelpin-max-rss-kb (\d+)/.exec(r.stderr);
      return { seconds: r.seconds, ...(r.cpu === undefined ? {} : { cpu: r.cpu }), rssMb: r.rssMb ?? (nodeRss ? Number(nodeRss[1]) / 1024 : NaN), note };
    };
    const ociRows = ociUri
      ? [CONCURRENCY, 1].map((conc) => ({
          what: conc > 1 ? `modelpin fetch, cold, OCI registry (crane) (${conc}×${PART_MB} MiB parallel ranges)` : 'modelpin fetch, cold, OCI registry (crane) (one stream)',
          serverPid: crane!.pid,
          run: fetchRow(ociUri!, conc, 'manifest + layer; server CPU column = the registry'),
        }))
      : [];
    const measures: { what: string; serverPid?: number; run: () => Promise<Sample> }[] = [
      {
        what: 'limit: curl GET → /dev/null (SigV4-signed)',
        run: async () => {
          const r = timed('curl', ['-sS', '-f', '-o', '/dev/null', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${minio.accessKey}:${minio.secretKey}`, url]);
          if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`);
          return { seconds: r.seconds, ...(r.cpu === undefined ? {} : { cpu: r.cpu }), ...(r.rssMb ? { rssMb: r.rssMb } : {}) };
        },
      },
      {
        what: 'limit: node:crypto SHA-256 over an in-memory buffer',
        run: async () => {
          const buf = randomBytes(64 * MiB);
          const hh = createHash('sha256');
          const t0 = performance.now();
          const { cpu } = await inProcessCpu(async () => {
            for (let done = 0; done < SIZE; done += buf.length) hh.update(done + buf.length <= SIZE ? buf : buf.subarray(0, SIZE - done));
            hh.digest();
          });
          return { seconds: (performance.now() - t0) / 1000, cpu, note: 'in-process' };
        },
      },
      {
        what: 'limit: write + fsync into the cache dir',
        run: async () => {
          const dir = join(work, 'write-test');
          await mkdir(dir, { recursive: true });
          const buf = randomBytes(8 * MiB);
          const fh = await open(join(dir, 'blob'), 'w');
          const t0 = performance.now();
          // Writes run on libuv's threads: process.cpuUsage counts them too.
          const { cpu } = await inProcessCpu(async () => {
            for (let done = 0; done < SIZE; done += buf.length) await fh.write(buf, 0, Math.min(buf.length, SIZE - done));
            await fh.sync();
          });
          await fh.close();
          const seconds = (performance.now() - t0) / 1000;
          await rm(dir, { recursive: true });
          return { seconds, cpu, note: 'in-process' };
        },
      },
      {
        what: 'reference: node:http GET → discard',
        run: async () => {
          const r = timed(process.execPath, [
            '-e',
            "require('node:http').get(process.argv[1], (r) => { let n = 0; r.on('data', (c) => (n += c.length)); r.on('end', () => { if (n !== Number(process.argv[2])) process.exit(1); }); })",
            url,
            String(SIZE),
          ]);
          if (r.status !== 0) throw new Error(`node GET failed: ${r.stderr}`);
          return { seconds: r.seconds, ...(r.cpu === undefined ? {} : { cpu: r.cpu }), ...(r.rssMb ? { rssMb: r.rssMb } : {}), note: "Node's own receive ceiling, not a limit" };
        },
      },
      ...[CONCURRENCY, 1].map((conc) => ({
        what: conc > 1 ? `modelpin fetch, cold (${conc}×${PART_MB} MiB parallel ranges, the default)` : 'modelpin fetch, cold (MODELPIN_FETCH_CONCURRENCY=1: one stream)',
        run: async (): Promise<Sample> => {
          await rm(cacheDir, { recursive: true, force: true });
          const r = timed(process.execPath, [cli, 'fetch', '--uri', 's3://bench/model.onnx', '--digest', digest, '--cache-dir', cacheDir, '--log-level', 'warn'], {
            ...env,
            MODELPIN_FETCH_CONCURRENCY: String(conc),
          });
          if (r.status !== 0) throw new Error(`modelpin fetch failed: ${r.stderr}`);
          if (statSync(r.stdout.trim()).size !== SIZE) throw new Error('modelpin wrote the wrong size');
          const nodeRss = /modelpin-max-rss-kb (\d+)/.exec(r.stderr);
          return { seconds: r.seconds, ...(r.cpu === undefined ? {} : { cpu: r.cpu }), rssMb: r.rssMb ?? (nodeRss ? Number(nodeRss[1]) / 1024 : NaN), note: 'SHA-256 + fsync + rename included' };
        },
      })),
      ...ociRows,
      {
        what: 'KServe Storage.download (process)',
        run: async () => {
          if (!existsSync(python)) return { seconds: NaN, note: `no peers python at ${python}` };
          await rm(kOut, { recursive: true, force: true });
          await mkdir(kOut);
          const k = timed(python, ['-c', kScript, 's3://bench/model.onnx', kOut], kenv);
          if (k.status !== 0) return { seconds: NaN, note: `failed: ${k.stderr.trim().split('\n').slice(-2).join(' ')}` };
          const inner = JSON.parse(k.stdout.trim().split('\n').pop() ?? '{}') as { import_s?: number; download_s?: number };
          const got = existsSync(join(kOut, 'model.onnx')) ? statSync(join(kOut, 'model.onnx')).size : -1;
          await rm(kOut, { recursive: true, force: true });
          return {
            seconds: k.seconds,
            ...(k.cpu === undefined ? {} : { cpu: k.cpu }),
            ...(k.rssMb ? { rssMb: k.rssMb } : {}),
            note: `of which download ${inner.download_s?.toFixed(2)} s, import ${inner.import_s?.toFixed(2)} s; no digest check${got === SIZE ? '' : `; WRONG SIZE ${got}`}`,
          };
        },
      },
    ];
    // Interleaved rounds, so a burst of load from elsewhere hits every row alike; medians reported.
    const samples = measures.map(() => [] as Sample[]);
    for (let round = 0; round < RUNS; round++) {
      for (const [i, m] of measures.entries()) {
        if (process.env.BENCH_ROWS && !m.what.startsWith(process.env.BENCH_ROWS)) continue;
        const pid = m.serverPid ?? minio.pid;
        const before = processCpu(pid);
        const sample = await m.run();
        samples[i]!.push({ ...sample, serverCpu: processCpu(pid) - before });
      }
      console.error(`round ${round + 1}/${RUNS} done`);
    }
    for (const [i, m] of measures.entries()) {
      const ss = samples[i]!;
      if (ss.length === 0) continue;
      const rss = ss.map((x) => x.rssMb).filter((x): x is number => x !== undefined && Number.isFinite(x));
      const cpus = ss.map((x) => x.cpu).filter((x): x is number => x !== undefined);
      rows.push({
        what: m.what,
        seconds: median(ss.map((x) => x.seconds)),
        ...(cpus.length ? { cpu: median(cpus) } : {}),
        serverCpu: median(ss.map((x) => x.serverCpu ?? NaN)),
        ...(rss.length ? { rssMb: Math.max(...rss) } : {}),
        ...(ss[0]?.note ? { note: ss[0].note } : {}),
      });
    }

    // ---- warm cache -------------------------------------------------------------------------
    // The cold rows left the artifact in cacheDir; an unreachable endpoint proves hits stay offline.
    const warm = await warmRows(work, cacheDir, 's3://bench/model.onnx', digest, { ...minio.env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' }, src);
    await rm(src);

    // ---- report -----------------------------------------------------------------------------
    const mbps = (s: number) => SIZE / MiB / s;
    console.log(`\n### fetch benchmark: ${SIZE_MB} MiB object on local MinIO (${new Date().toISOString().slice(0, 10)}, ${process.version}, median of ${RUNS} interleaved runs, peak RSS = max)\n`);
    const num = (x: number | undefined, digits: number) => (x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '—');
    console.log('| what | wall s | MiB/s | CPU s | MinIO CPU s | peak RSS MB | note |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of rows) {
      console.log(`| ${r.what} | ${num(r.seconds, 2)} | ${num(mbps(r.seconds), 0)} | ${num(r.cpu, 2)} | ${num(r.serverCpu, 2)} | ${num(r.rssMb, 0)} | ${r.note ?? ''} |`);
    }
    // OCI against S3, same build, same bytes, same run: target ≤ 1.2 × in CPU per GiB and in wall time.
    for (const mode of ['parallel', 'one stream']) {
      const s3 = rows.find((r) => r.what.startsWith('modelpin fetch, cold') && !r.what.includes('OCI') && (mode === 'parallel' ? r.what.includes('parallel') : r.what.includes('one stream')));
      const oci = rows.find((r) => r.what.includes('OCI') && r.what.includes(mode === 'parallel' ? 'parallel' : 'one stream'));
      if (!s3 || !oci) continue;
      const cpuRatio = (oci.cpu ?? NaN) / (s3.cpu ?? NaN);
      const wallRatio = oci.seconds / s3.seconds;
      console.log(`OCI vs S3 (${mode}): CPU ${cpuRatio.toFixed(2)}×, wall ${wallRatio.toFixed(2)}× (target ≤ 1.20) ${cpuRatio <= 1.2 && wallRatio <= 1.2 ? 'OK' : 'MISSED'}`);
    }
    const limits = rows.filter((r) => r.what.startsWith('limit:'));
    if (limits.length === 0) return;
    const lowest = limits.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    const mps = rows.filter((r) => r.what.startsWith('modelpin'));
    const ks = rows.find((r) => r.what.startsWith('KServe'));
    printWarm(warm.rows);
    console.log('');
    for (const m of mps) {
      const ratio = mbps(m.seconds) / mbps(lowest.seconds);
      console.log(`${m.what}:`);
      console.log(`  vs lowest limit (${lowest.what.replace('limit: ', '')}): ${ratio.toFixed(2)} (target ≥ 0.80) ${ratio >= 0.8 ? 'OK' : 'MISSED'}`);
      if (ks && Number.isFinite(ks.seconds)) {
        const speedup = ks.seconds / m.seconds;
        console.log(`  vs KServe initializer (process wall): ${speedup.toFixed(2)}× (target > 1) ${speedup > 1 ? 'OK' : 'MISSED'}`);
      }
      console.log(`  peak RSS: ${m.rssMb?.toFixed(0)} MB (target ≤ 150) ${m.rssMb !== undefined && m.rssMb <= 150 ? 'OK' : 'MISSED'}`);
    }
    // What any fetch + verify must spend, on the machine's cores, to reach the target: MinIO's
    // serving, the receive, the SHA-256 and the write, each at the least this run measured for it.
    const curl = rows.find((r) => r.what.startsWith('limit: curl'));
    const sha = rows.find((r) => r.what.includes('SHA-256'));
    const write = rows.find((r) => r.what.includes('write'));
    const nodeRecv = rows.find((r) => r.what.startsWith('reference: node:http'));
    if (curl?.cpu !== undefined && sha?.cpu !== undefined && write?.cpu !== undefined && Number.isFinite(curl.serverCpu)) {
      const cores = availableParallelism();
      const targetSeconds = lowest.seconds / 0.8;
      const fixed = curl.serverCpu! + sha.cpu + write.cpu;
      const withCurl = fixed + curl.cpu;
      const withNode = nodeRecv?.cpu !== undefined ? fixed + nodeRecv.cpu : NaN;
      console.log(
        `CPU budget at the target: 0.8 × ${mbps(lowest.seconds).toFixed(0)} MiB/s leaves ${targetSeconds.toFixed(2)} s × ${cores} cores = ${(targetSeconds * cores).toFixed(2)} core-s. ` +
          `Serving (MinIO during curl) ${curl.serverCpu!.toFixed(2)} + SHA-256 ${sha.cpu.toFixed(2)} + write ${write.cpu.toFixed(2)} + receive ` +
          `(curl ${curl.cpu.toFixed(2)} / node:http ${num(nodeRecv?.cpu, 2)}) = ${withCurl.toFixed(2)} / ${num(withNode, 2)} core-s, with every stage perfectly overlapped.`,
      );
    }
    const warmOver = warm.cliMs - warm.bareMs;
    console.log(`warm cache: ${warm.inProcessMs.toFixed(1)} ms in-process (size); CLI ${warm.cliMs.toFixed(0)} ms = node start-up ${warm.bareMs.toFixed(0)} ms + ${warmOver.toFixed(0)} ms (target ≤ 50 ms + confirm) ${warmOver <= 50 ? 'OK' : 'MISSED'}; the default confirm (re-hash) is in the table`);
  } finally {
    await crane?.stop();
    await minio.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();

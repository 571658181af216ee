// gRPC serving benchmark, the example MLP (64→256→10) as in serve.ts, all on this machine, one run:
//   (1) bare grpc-js server answering a fixed ModelInferResponse (the gRPC ceiling for this client),
//       and (1b) the same answer from a bare node:http2 server with no gRPC library at all
//   (2) modelpin gRPC, raw_input_contents, batching on (--max-batch-size 32), c=1/16/64
//   (3) the same modelpin process over REST JSON (wrk -t1, as serve.ts), c=1/16/64
//   (4) KServe's Python model server over gRPC (kserve.Model + onnxruntime, the same ONNX file)
// gRPC load comes from ghz (one connection, as a client's channel; the request message sent as
// binary, templates off), REST load from wrk. Both share the machine's cores with the server:
// BENCH_PIN=1 pins the servers to CPU 0 and the load generators to CPU 1. Each point is the best
// of BENCH_ROUNDS interleaved rounds (order rotated), so background load hurts every server alike.
// Load-generator CPU per request is printed: ghz (Go gRPC) costs several times what wrk does,
// and on two cores that CPU is taken from the server.
//
// Run (after `npm run build`; ghz: `GOBIN=~/.cache/modelpin/bin go install github.com/bojand/ghz/cmd/ghz@v0.120.0`, or MODELPIN_GHZ_BIN):
//   npm run bench -- grpc
// Env: BENCH_SECONDS (default 4), BENCH_ROUNDS (default 3), BENCH_PIN, MODELPIN_GHZ_BIN, MODELPIN_PEERS_PYTHON.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import { freePort } from '../tools/net.js';
import { kserveScript } from './kserve-model.js';
import { repoRoot } from '../tools/repo-root.js';

const root = repoRoot();
const CLI = join(root, 'dist/modelpin.js');
const MODEL = join(root, 'plugin/examples/fraud-detector/model.onnx');
const PROTO = join(root, 'sidecar/serve/grpc/inference.proto');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PIN = process.env.BENCH_PIN === '1';
const PY = process.env.MODELPIN_PEERS_PYTHON ?? join(process.env.HOME ?? '/root', '.cache/modelpin/venv-peers/bin/python');
const GHZ = process.env.MODELPIN_GHZ_BIN ?? join(process.env.HOME ?? '/root', '.cache/modelpin/bin/ghz');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const work = mkdtempSync(join(tmpdir(), 'modelpin-bench-grpc-'));
const children: ChildProcess[] = [];
const CONCURRENCY = [1, 16, 64];

const pinned = (cpu: number, cmd: string, args: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]);

// --- the requests -------------------------------------------------------------------------------
const input = Array.from({ length: 64 }, (_, i) => Math.fround(Math.sin(i) * 0.5));
const proto = protobuf.parse(readFileSync(PROTO, 'utf8'), { keepCase: true }).root;
const Req = proto.lookupType('inference.ModelInferRequest');
const Res = proto.lookupType('inference.ModelInferResponse');
const reqBin = join(work, 'req.bin');
writeFileSync(
  reqBin,
  Req.encode(Req.fromObject({ model_name: 'fraud-detector', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.from(Float32Array.from(input).buffer)] })).finish(),
);
const bodyFile = join(work, 'body.json');
writeFileSync(bodyFile, JSON.stringify({ inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: input }] }));
const lua = join(work, 'post.lua');
writeFileSync(lua, `local f = io.open("${bodyFile}", "r")\nwrk.method = "POST"\nwrk.body = f:read("*a")\nf:close()\nwrk.headers["Content-Type"] = "application/json"\n`);

interface Point {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  /** Load generator CPU (user + system) per request, µs. */
  clientUs: number;
}

/** Run `cmd` under /usr/bin/time (when present) to learn its CPU seconds. */
function timed(cmd: string, args: string[]): { stdout: string; stderr: string; status: number | null; cpuSeconds: number } {
  const [c, a] = pinned(1, cmd, args);
  const r = TIME ? spawnSync(TIME, ['-f', 'CPU %U %S', c, ...a], { encoding: 'utf8', maxBuffer: 64 << 20 }) : spawnSync(c, a, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, cpuSeconds: m ? Number(m[1]) + Number(m[2]) : NaN };
}

function ghz(target: string, conns: number): Point {
  const r = timed(GHZ, [
    '--insecure', '--proto', PROTO, '--call', 'inference.GRPCInferenceService/ModelInfer', '-B', reqBin,
    '-c', String(conns), '-z', `${SECONDS}s`, '--connections', '1', '--disable-template-functions', '--disable-template-data',
    ...(PIN ? ['--cpus', '1'] : []), '-O', 'json', target,
  ]);
  if (r.status !== 0 && !r.stdout.trim().startsWith('{')) throw new Error(`ghz failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { count: number; rps: number; latencyDistribution: { percentage: number; latency: number }[]; statusCodeDistribution?: Record<string, number> };
  const lat = (p: number) => (j.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const ok = j.statusCodeDistribution?.OK ?? 0;
  // The last calls of a timed run are cut by ghz itself ("closing"): not the server's errors.
  const errors = Object.entries(j.statusCodeDistribution ?? {}).filter(([k]) => k !== 'OK' && k !== 'Unavailable' && k !== 'Canceled').reduce((a, [, v]) => a + v, 0);
  return { rps: j.rps * (ok / Math.max(1, j.count)), p50ms: lat(50), p99ms: lat(99), errors, clientUs: (r.cpuSeconds / Math.max(1, j.count)) * 1e6 };
}

function toMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

function wrk(url: string, conns: number): Point {
  const r = timed('wrk', ['-t1', `-c${conns}`, `-d${SECONDS}s`, '--latency', '-s', lua, url]);
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50ms: toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''), p99ms: toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''), errors: non2xx, clientUs: (r.cpuSeconds / Math.max(1, total)) * 1e6 };
}

// --- (1) bare grpc-js server ------------------------------------------------------------------
async function bareGrpc(): Promise<{ target: string; stop: () => void }> {
  const port = await freePort();
  const fixed = Buffer.from(
    Res.encode(Res.fromObject({ model_name: 'fraud-detector', outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 10] }], raw_output_contents: [Buffer.alloc(40)] })).finish(),
  );
  const script = join(work, 'bare-grpc.cjs');
  writeFileSync(
    script,
    `const grpc = require(${JSON.stringify(join(root, 'node_modules/@grpc/grpc-js'))});
const fixed = Buffer.from(${JSON.stringify(fixed.toString('base64'))}, 'base64');
const id = (b) => b;
const s = new grpc.Server();
s.addService({ ModelInfer: { path: '/inference.GRPCInferenceService/ModelInfer', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
  { ModelInfer: (call, cb) => cb(null, fixed) });
s.bindAsync('127.0.0.1:${port}', grpc.ServerCredentials.createInsecure(), () => {});`,
  );
  const [cmd, args] = pinned(0, process.execPath, [script]);
  const c = spawn(cmd, args, { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => setTimeout(r, 500));
  return { target: `127.0.0.1:${port}`, stop: () => c.kill() };
}

// --- (1b) bare node:http2 ------------------------------------------------------------------------
async function bareH2(): Promise<{ target: string; stop: () => void }> {
  const port = await freePort();
  const fixed = Buffer.from(
    Res.encode(Res.fromObject({ model_name: 'fraud-detector', outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 10] }], raw_output_contents: [Buffer.alloc(40)] })).finish(),
  );
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), fixed]);
  framed.writeUInt32BE(fixed.length, 1);
  const script = join(work, 'bare-h2.cjs');
  writeFileSync(
    script,
    `const http2 = require('node:http2');
const framed = Buffer.from(${JSON.stringify(framed.toString('base64'))}, 'base64');
const s = http2.createServer();
s.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.on('data', () => {});
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(framed);
  });
});
s.on('sessionError', () => {});
s.listen(${port}, '127.0.0.1');`,
  );
  const [cmd, args] = pinned(0, process.execPath, [script]);
  const c = spawn(cmd, args, { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => setTimeout(r, 500));
  return { target: `127.0.0.1:${port}`, stop: () => c.kill() };
}

// --- (2)+(3) modelpin -----------------------------------------------------------------------
const digest = 'sha256:' + createHash('sha256').update(readFileSync(MODEL)).digest('hex');

async function modelpin(): Promise<{ url: string; base: string; target: string; stop: () => Promise<void> }> {
  const [port, gport] = [await freePort(), await freePort()];
  const [cmd, args] = pinned(0, process.execPath, [
    CLI, 'serve', '--uri', pathToFileURL(MODEL).href, '--digest', digest, '--name', 'fraud-detector', '--port', String(port), '--grpc-port', String(gport),
    '--host', '127.0.0.1', '--cache-dir', join(work, 'cache'), '--max-batch-size', '32',
  ]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(c);
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    c.stderr!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (buf.includes('"msg":"ready"')) resolve();
    });
    c.on('exit', (code) => reject(new Error(`modelpin serve exited ${code}: ${buf}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/v2/models/fraud-detector/infer`,
    base,
    target: `127.0.0.1:${gport}`,
    stop: () =>
      new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGINT');
      }),
  };
}

async function metric(base: string, re: RegExp): Promise<number> {
  const m = re.exec(await (await fetch(`${base}/metrics`)).text());
  return m ? Number(m[1]) : NaN;
}

// --- (4) KServe over gRPC ----------------------------------------------------------------------

async function kserve(): Promise<{ target: string; stop: () => void } | undefined> {
  if (!existsSync(PY)) return undefined;
  const script = join(work, 'kserve_onnx_grpc.py');
  writeFileSync(script, kserveScript({ grpc: true }));
  const [port, gport] = [await freePort(), await freePort()];
  const [cmd, args] = pinned(0, PY, [script, 'fraud-detector', MODEL, String(port), String(gport)]);
  const c = spawn(cmd, args, { stdio: 'ignore' });
  children.push(c);
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/ready`).catch(() => undefined);
    if (r?.status === 200) break;
    if (Date.now() > end || c.exitCode !== null) throw new Error('KServe never became ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  // Sanity: one gRPC call answers logits [1, 10].
  const probe = spawnSync(GHZ, ['--insecure', '--proto', PROTO, '--call', 'inference.GRPCInferenceService/ModelInfer', '-B', reqBin, '-n', '5', '-c', '1', '-O', 'json', `127.0.0.1:${gport}`], { encoding: 'utf8' });
  const sc = (JSON.parse(probe.stdout) as { statusCodeDistribution?: Record<string, number> }).statusCodeDistribution;
  if (sc?.OK !== 5) throw new Error(`KServe gRPC sanity call failed: ${probe.stdout.slice(0, 500)}`);
  return { target: `127.0.0.1:${gport}`, stop: () => c.kill() };
}

// --- run -------------------------------------------------------------------------------------
const fmt = (p: Point) =>
  `${p.rps.toFixed(0).padStart(7)} req/s  p50 ${p.p50ms.toFixed(2).padStart(6)} ms  p99 ${p.p99ms.toFixed(2).padStart(6)} ms  client ${p.clientUs.toFixed(0).padStart(3)} µs CPU/req${p.errors ? `  (${p.errors} errors)` : ''}`;

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
  if (!existsSync(GHZ)) throw new Error(`ghz not found at ${GHZ}: GOBIN=~/.cache/modelpin/bin go install github.com/bojand/ghz/cmd/ghz@v0.120.0 (or set MODELPIN_GHZ_BIN)`);
  const load = (await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(
    `modelpin gRPC benchmark — example MLP 64→256→10, ${SECONDS}s per point, best of ${ROUNDS} interleaved rounds, ghz (1 connection, binary message) and wrk -t1, ` +
      `${PIN ? 'servers on CPU 0, load generators on CPU 1' : 'unpinned (load generators share the cores)'}, ${cpus().length} CPUs, node ${process.version}, load average before: ${load}`,
  );
  const bare = await bareGrpc();
  const h2 = await bareH2();
  const mp = await modelpin();
  const targets: [string, () => Point][] = [];
  for (const c of CONCURRENCY) {
    targets.push([`ceiling:${c}`, () => ghz(bare.target, c)], [`h2:${c}`, () => ghz(h2.target, c)], [`grpc:${c}`, () => ghz(mp.target, c)], [`rest:${c}`, () => wrk(mp.url, c)]);
  }
  const res: Record<string, Point> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CONCURRENCY) {
      const group = targets.filter(([k]) => k.endsWith(`:${c}`));
      for (let k = 0; k < group.length; k++) {
        const [name, run] = group[(k + round) % group.length]!;
        const p = run();
        if (!res[name] || p.rps > res[name]!.rps) res[name] = p;
      }
    }
  }
  for (const c of CONCURRENCY) console.log(`(1) bare grpc-js, fixed answer   c=${String(c).padEnd(2)}: ${fmt(res[`ceiling:${c}`]!)}`);
  for (const c of CONCURRENCY) console.log(`(1b) bare node:http2, no library c=${String(c).padEnd(2)}: ${fmt(res[`h2:${c}`]!)}`);
  for (const c of CONCURRENCY) console.log(`(2) modelpin gRPC raw contents   c=${String(c).padEnd(2)}: ${fmt(res[`grpc:${c}`]!)}`);
  for (const c of CONCURRENCY) console.log(`(3) modelpin REST JSON           c=${String(c).padEnd(2)}: ${fmt(res[`rest:${c}`]!)}`);
  const grpcOk = await metric(mp.base, /^modelpin_infer_requests_total\{[^}]*protocol="grpc",outcome="success"\} (\S+)$/m);
  const grpcFail = await metric(mp.base, /^modelpin_infer_requests_total\{[^}]*protocol="grpc",outcome="failure"\} (\S+)$/m);
  const rows = await metric(mp.base, /^modelpin_infer_batch_size_sum\{[^}]*\} (\S+)$/m);
  const runs = await metric(mp.base, /^modelpin_infer_batch_size_count\{[^}]*\} (\S+)$/m);
  console.log(`    server: ${grpcOk} gRPC successes, ${grpcFail} failures; ${(rows / runs).toFixed(2)} rows per ONNX Runtime run on average`);
  await mp.stop();
  bare.stop();
  h2.stop();

  let ks: Record<number, Point> | undefined;
  try {
    const k = await kserve();
    if (k) {
      ks = {};
      for (const c of CONCURRENCY) {
        ks[c] = ghz(k.target, c);
        console.log(`(4) KServe 0.21 Python gRPC     c=${String(c).padEnd(2)}: ${fmt(ks[c])}`);
      }
      k.stop();
    } else console.log(`(4) KServe: skipped (no python at ${PY})`);
  } catch (err) {
    console.log(`(4) KServe: failed: ${(err as Error).message}`);
  }

  const g = (c: number) => res[`grpc:${c}`]!;
  const checks: [string, boolean, string][] = [
    ['gRPC raw c=64 ≥ 1.2 × REST JSON c=64 (same process, same run)', g(64).rps >= 1.2 * res['rest:64']!.rps, `${(g(64).rps / res['rest:64']!.rps).toFixed(2)} ×`],
    ...(ks ? ([['gRPC c=64 ≥ 3 × KServe gRPC c=64', g(64).rps >= 3 * ks[64]!.rps, `${(g(64).rps / ks[64]!.rps).toFixed(1)} ×`]] as [string, boolean, string][]) : []),
    ['gRPC p99 at c=16 ≤ 3 ms', g(16).p99ms <= 3, `${g(16).p99ms.toFixed(2)} ms`],
  ];
  console.log(`    gRPC c=64 against the bare grpc-js server: ${(g(64).rps / res['ceiling:64']!.rps).toFixed(2)} ×; bare grpc-js / REST JSON: ${(res['ceiling:64']!.rps / res['rest:64']!.rps).toFixed(2)} ×; bare node:http2 / REST JSON: ${(res['h2:64']!.rps / res['rest:64']!.rps).toFixed(2)} ×`);
  console.log('\ntargets:');
  for (const [what, ok, detail] of checks) console.log(`  ${ok ? 'MET ' : 'MISS'}  ${what}: ${detail}`);
  console.log(`load average after: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

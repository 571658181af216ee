// The cache shared by processes that cannot see each other, as two containers of a pod sharing
// an emptyDir: each `modelpin fetch` runs in its own PID namespace (`unshare --pid --fork
// --mount-proc`, so each is PID 1, as in a container). One must never sweep the other's
// download as a leftover. Also: `modelpin fetch` (the init-container use) re-verifies a hit.
// Runs the built CLI (dist/modelpin.js); unshare needs root (skipped, saying why, otherwise).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './support/serve-process.js';
import { startFixture, type Fixture } from './support/https-fixture.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '-e', 'process.exit(process.pid === 1 ? 0 : 3)']);
const noUnshare = probe.status === 0 ? undefined : `unshare --pid --fork --mount-proc is not available here (${probe.error?.message ?? (probe.stderr.toString().trim() || `exit ${probe.status}`)}); run as root`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function fetchCli(args: string[], opts: { namespace?: boolean } = {}): { done: Promise<Run> } {
  const cmd = opts.namespace ? ['unshare', '--pid', '--fork', '--mount-proc', process.execPath, CLI, 'fetch', ...args] : [process.execPath, CLI, 'fetch', ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MODELPIN_FETCH_RETRIES: '2' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr }))) };
}

let srv: Fixture;
let dir: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  srv = await startFixture();
  dir = await mkdtemp(join(tmpdir(), 'modelpin-fetch-cache-'));
});
afterAll(async () => {
  await srv?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitForPart(tmp: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const names = existsSync(tmp) ? await readdir(tmp) : [];
    for (const n of names) if (n.endsWith('.part') && (await stat(join(tmp, n))).size > 0) return n;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the first fetch never started writing its temp file');
}

describe('two fetches in separate PID namespaces sharing one cache', () => {
  it("a fetch starting while another container's download is in progress leaves it alone", async (ctx) => {
    if (noUnshare) return ctx.skip(noUnshare);
    const slow = randomBytes(6 * 1024 * 1024);
    const small = randomBytes(10_000);
    srv.route('/slow.onnx', { body: slow, bytesPerSecond: 2 * 1024 * 1024 });
    srv.route('/small.onnx', { body: small });
    const cacheDir = join(dir, 'shared');
    const a = fetchCli(['--uri', srv.url('/slow.onnx'), '--digest', sha(slow), '--cache-dir', cacheDir], { namespace: true });
    const part = await waitForPart(join(cacheDir, 'tmp'));
    expect(part).toMatch(/^[0-9a-f]{64}\.1\./); // PID 1 in its namespace, as in a container
    // The second container starts (also PID 1 in its own namespace) and sweeps the temp dir.
    const b = await fetchCli(['--uri', srv.url('/small.onnx'), '--digest', sha(small), '--cache-dir', cacheDir], { namespace: true }).done;
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(join(cacheDir, 'tmp', part)), 'the second fetch swept the first one’s download').toBe(true);
    const ra = await a.done;
    expect(ra.code, ra.stderr).toBe(0);
    expect((await readFile(ra.stdout.trim())).equals(slow)).toBe(true);
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
  });

  it('both fetching the same artifact, the second starting mid-download: both succeed with the same verified file', async (ctx) => {
    if (noUnshare) return ctx.skip(noUnshare);
    const body = randomBytes(4 * 1024 * 1024);
    srv.route('/same.onnx', { body, bytesPerSecond: 2 * 1024 * 1024 });
    const cacheDir = join(dir, 'same');
    const args = ['--uri', srv.url('/same.onnx'), '--digest', sha(body), '--cache-dir', cacheDir];
    const first = fetchCli(args, { namespace: true });
    await waitForPart(join(cacheDir, 'tmp'));
    const [x, y] = await Promise.all([first.done, fetchCli(args, { namespace: true }).done]);
    expect(x.code, x.stderr).toBe(0);
    expect(y.code, y.stderr).toBe(0);
    expect(x.stdout).toBe(y.stdout);
    expect((await readFile(x.stdout.trim())).equals(body)).toBe(true);
  });
});

describe('modelpin fetch re-verifies a cache hit by default', () => {
  it('a flipped byte in the cache is found, logged, and fixed; stdout is the good file', async () => {
    const body = randomBytes(300_000);
    const file = join(dir, 'local.onnx');
    await writeFile(file, body);
    const cacheDir = join(dir, 'verify');
    const args = ['--uri', file, '--digest', sha(body), '--cache-dir', cacheDir];
    const first = await fetchCli(args).done;
    expect(first.code, first.stderr).toBe(0);
    const cached = first.stdout.trim();
    const bad = await readFile(cached);
    bad[1234] = bad[1234]! ^ 0x40;
    await chmod(cached, 0o644);
    await writeFile(cached, bad);
    const second = await fetchCli(args).done;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe(cached);
    expect((await readFile(cached)).equals(body)).toBe(true);
    expect(second.stderr).toContain('evicting a corrupt cache entry');
  });
});

// Crash safety: `modelpin fetch` killed with SIGKILL in the middle of a download leaves nothing
// the cache would trust; a rerun succeeds and sweeps the leftover. Runs the built CLI
// (dist/modelpin.js; `npm test` / `npm run test:integration` build it first).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from './support/https-fixture.js';

const CLI = fileURLToPath(new URL('../../dist/modelpin.js', import.meta.url));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function runCli(args: string[]): { proc: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MODELPIN_FETCH_RETRIES: '2' } });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { proc, done };
}

let srv: Fixture;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  srv = await startFixture();
  dir = await mkdtemp(join(tmpdir(), 'modelpin-fetch-kill-'));
});
afterAll(async () => {
  await srv?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('modelpin fetch killed mid-download', () => {
  it('leaves no trusted file; the rerun succeeds and cleans up', async () => {
    const body = randomBytes(6 * 1024 * 1024);
    const digest = sha(body);
    const hex = digest.slice(7);
    const cacheDir = join(dir, 'cache');
    srv.route('/model.onnx', { body, bytesPerSecond: 1024 * 1024 });
    const args = ['fetch', '--uri', srv.url('/model.onnx'), '--digest', digest, '--cache-dir', cacheDir];

    const first = runCli(args);
    // Wait until the download has written real bytes into its temp file.
    const tmp = join(cacheDir, 'tmp');
    let partial: string | undefined;
    let exited: { code: number | null; stderr: string } | undefined;
    void first.done.then((r) => (exited = r));
    for (let i = 0; i < 400 && !partial; i++) {
      if (exited) throw new Error(`the CLI exited early (${exited.code}): ${exited.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
      const names = existsSync(tmp) ? await readdir(tmp) : [];
      for (const n of names) if (n.endsWith('.part') && (await stat(join(tmp, n))).size > 0) partial = n;
    }
    expect(partial, 'the CLI never started writing its temp file').toBeDefined();
    first.proc.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toBe('');

    // Nothing trusted: no sha256/<hex>, and the partial file is under tmp/ only.
    expect(existsSync(join(cacheDir, 'sha256', hex))).toBe(false);
    expect(await readdir(join(cacheDir, 'sha256'))).toEqual([]);
    expect((await stat(join(tmp, partial!))).size).toBeLessThan(body.length);

    srv.route('/model.onnx', { body });
    const second = await runCli(args).done;
    expect(second.stderr).not.toContain('MODELPIN_E_');
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(`${join(cacheDir, 'sha256', hex)}\n`);
    expect((await readFile(join(cacheDir, 'sha256', hex))).equals(body)).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('on SIGTERM stops, removes its temp file and exits 1 with MODELPIN_E_FETCH_NETWORK', async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const cacheDir = join(dir, 'cache-term');
    srv.route('/term.onnx', { body, bytesPerSecond: 512 * 1024 });
    const run = runCli(['fetch', '--uri', srv.url('/term.onnx'), '--digest', sha(body), '--cache-dir', cacheDir]);
    const tmp = join(cacheDir, 'tmp');
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(tmp) && (await readdir(tmp)).some((n) => n.endsWith('.part'))) break;
    }
    run.proc.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('interrupted by SIGTERM');
    expect(await readdir(tmp)).toEqual([]);
    expect(await readdir(join(cacheDir, 'sha256'))).toEqual([]);
  });

  it('exits 1 with a clear error on a digest mismatch and prints nothing on stdout', async () => {
    const body = randomBytes(10_000);
    srv.route('/other.onnx', { body });
    const wrong = sha(Buffer.from('something else'));
    const r = await runCli(['fetch', '--uri', srv.url('/other.onnx'), '--digest', wrong, '--cache-dir', join(dir, 'cache2')]).done;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('MODELPIN_E_DIGEST_MISMATCH');
    expect(r.stderr).toContain(wrong);
    expect(r.stderr).toContain(sha(body));
  });

  it('takes its flags from MODELPIN_* environment variables too', async () => {
    const body = randomBytes(1000);
    srv.route('/env.onnx', { body });
    const proc = spawn(process.execPath, [CLI, 'fetch'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MODELPIN_URI: srv.url('/env.onnx'), MODELPIN_DIGEST: sha(body), MODELPIN_CACHE_DIR: join(dir, 'cache3') },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((r) => proc.on('exit', r));
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe(join(dir, 'cache3', 'sha256', sha(body).slice(7)));
  });
});

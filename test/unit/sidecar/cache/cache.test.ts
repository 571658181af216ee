// The content-addressed cache: temp files become trusted only through commit(); leftovers of
// dead processes are swept; a cache hit is confirmed by size (default) or by re-hashing.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobPath, cacheLayout, createTempBlob, ensureCache, sweepTemp } from '../../../../sidecar/cache/index.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { silentLogger } from '../../../../sidecar/log.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const fresh = async () => {
  const c = cacheLayout(join(dir, `c${++n}`));
  await ensureCache(c);
  return c;
};
const hexOf = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('temp blobs', () => {
  it('are invisible under sha256/ until commit, then read-only at sha256/<hex>', async () => {
    const c = await fresh();
    const body = randomBytes(5000);
    const hex = hexOf(body);
    const t = await createTempBlob(c, hex);
    await t.write([body.subarray(0, 1000), body.subarray(1000, 3000)], 0);
    await t.write([body.subarray(3000)], 3000);
    expect(await readdir(c.blobs)).toEqual([]);
    expect(t.path.startsWith(c.tmp)).toBe(true);
    const dest = await t.commit();
    expect(dest).toBe(blobPath(c, hex));
    expect((await readFile(dest)).equals(body)).toBe(true);
    expect((await stat(dest)).mode & 0o777).toBe(0o444);
    expect(await readdir(c.tmp)).toEqual([]);
  });

  it('discard removes the temp file; reset truncates it', async () => {
    const c = await fresh();
    const t = await createTempBlob(c, 'a'.repeat(64));
    await t.write([Buffer.from('hello')], 0);
    await t.reset();
    expect((await stat(t.path)).size).toBe(0);
    await t.discard();
    expect(await readdir(c.tmp)).toEqual([]);
  });

  it('fails with MODELPIN_E_CACHE when the cache dir cannot be created', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    await expect(ensureCache(cacheLayout(join(file, 'cache')))).rejects.toMatchObject({ code: 'MODELPIN_E_CACHE' });
  });
});

describe('sweepTemp', () => {
  it('removes leftovers of dead processes and of our own PID, keeps live ones', async () => {
    const c = await fresh();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const hex = 'b'.repeat(64);
    await writeFile(join(c.tmp, `${hex}.${dead}.aaaaaaaaaaaa.part`), 'partial');
    await writeFile(join(c.tmp, `${hex}.${process.pid}.bbbbbbbbbbbb.part`), 'partial');
    await mkdir(join(c.tmp, `${hex}.${dead}.cccccccccccc.dir`, 'sub'), { recursive: true });
    await writeFile(join(c.tmp, 'garbage'), 'x');
    // PID 1 is alive (init); a recent file of a live process is someone else's download.
    await writeFile(join(c.tmp, `${hex}.1.dddddddddddd.part`), 'in progress');
    const old = join(c.tmp, `${hex}.1.eeeeeeeeeeee.part`);
    await writeFile(old, 'ancient');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    expect(await sweepTemp(c, silentLogger)).toBe(5);
    expect(await readdir(c.tmp)).toEqual([`${hex}.1.dddddddddddd.part`]);
  });
});

describe('cache hits', () => {
  async function artifact(): Promise<{ file: string; body: Buffer; digest: string }> {
    const body = randomBytes(20_000);
    const file = join(dir, `artifact-${++n}.onnx`);
    await writeFile(file, body);
    return { file, body, digest: `sha256:${hexOf(body)}` };
  }

  it('trust-on-rename: a hit costs a stat and works with the source gone', async () => {
    const a = await artifact();
    const cacheDir = join(dir, `hit-${n}`);
    await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false });
    await rm(a.file);
    const r = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false, size: a.body.length });
    expect(r.cached).toBe(true);
  });

  it('evicts an entry whose size differs from --size and fetches again', async () => {
    const a = await artifact();
    const cacheDir = join(dir, `size-${n}`);
    const first = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false });
    await chmod(first.path, 0o644);
    await writeFile(first.path, a.body.subarray(0, 100)); // simulate a damaged entry
    const r = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false, size: a.body.length });
    expect(r.cached).toBe(false);
    expect((await readFile(r.path)).equals(a.body)).toBe(true);
  });

  it('MODELPIN_CACHE_VERIFY=rehash catches same-size corruption that the size check cannot', async () => {
    const a = await artifact();
    const cacheDir = join(dir, `rehash-${n}`);
    const first = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false });
    const corrupt = Buffer.from(a.body);
    corrupt[0] = (corrupt[0] ?? 0) ^ 1;
    await chmod(first.path, 0o644);
    await writeFile(first.path, corrupt);
    const trusted = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false });
    expect(trusted.cached).toBe(true); // documented limit of trust-on-rename
    const r = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false, env: { MODELPIN_CACHE_VERIFY: 'rehash' } });
    expect(r.cached).toBe(false);
    expect((await readFile(r.path)).equals(a.body)).toBe(true);
    expect(existsSync(r.path)).toBe(true);
  });

  it('rejects an unknown MODELPIN_CACHE_VERIFY', async () => {
    const a = await artifact();
    await expect(fetchArtifact({ uri: a.file, digest: a.digest, cacheDir: join(dir, 'x'), env: { MODELPIN_CACHE_VERIFY: 'maybe' } })).rejects.toMatchObject({
      code: 'MODELPIN_E_SERVE_CONFIG',
    });
  });
});

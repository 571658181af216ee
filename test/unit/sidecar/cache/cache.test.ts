// The content-addressed cache: temp files become trusted only through commit(); leftovers of
// dead processes are swept (another container's live download is not); a cache hit is
// re-hashed on every start (default) or trusted by size (the MODELPIN_CACHE_VERIFY=size opt-out).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HEARTBEAT_MS, STALE_MS, blobPath, cacheLayout, createTempBlob, ensureCache, pidNamespace, sweepTemp } from '../../../../sidecar/cache/index.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { createLogger, silentLogger } from '../../../../sidecar/log.js';

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
  it('in our PID namespace: removes leftovers of dead processes and of our own PID, keeps live ones', async () => {
    const c = await fresh();
    const ns = pidNamespace();
    expect(ns).toMatch(/^\d+$/);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const hex = 'b'.repeat(64);
    await writeFile(join(c.tmp, `${hex}.${dead}.${ns}.aaaaaaaaaaaa.part`), 'partial');
    await writeFile(join(c.tmp, `${hex}.${process.pid}.${ns}.bbbbbbbbbbbb.part`), 'partial');
    await mkdir(join(c.tmp, `${hex}.${dead}.${ns}.cccccccccccc.dir`, 'sub'), { recursive: true });
    // PID 1 is alive (init) in our namespace: someone else's download.
    await writeFile(join(c.tmp, `${hex}.1.${ns}.dddddddddddd.part`), 'in progress');
    // Our own download in progress is never swept by our own sweep.
    const mine = await createTempBlob(c, hex);
    expect(await sweepTemp(c, silentLogger)).toBe(3);
    expect((await readdir(c.tmp)).sort()).toEqual([`${hex}.1.${ns}.dddddddddddd.part`, mine.path.split('/').pop()].sort());
    await mine.discard();
  });

  it('from another PID namespace (another container): goes by the heartbeat, never by the PID', async () => {
    const c = await fresh();
    const other = String(Number(pidNamespace()) + 1);
    const hex = 'c'.repeat(64);
    // The other container's process may well have our PID or PID 1: irrelevant to us.
    const live = [`${hex}.${process.pid}.${other}.aaaaaaaaaaaa.part`, `${hex}.1.${other}.bbbbbbbbbbbb.dir`, 'garbage'];
    for (const name of live) await writeFile(join(c.tmp, name), 'x');
    const stopped = [`${hex}.${process.pid}.${other}.cccccccccccc.part`, `${hex}.7.x.dddddddddddd.part`, `${hex}.7.eeeeeeeeeeee.part` /* an older layout */];
    const beforeStale = new Date(Date.now() - STALE_MS - 5_000);
    for (const name of stopped) {
      await writeFile(join(c.tmp, name), 'x');
      await utimes(join(c.tmp, name), beforeStale, beforeStale);
    }
    expect(await sweepTemp(c, silentLogger)).toBe(3);
    expect((await readdir(c.tmp)).sort()).toEqual([...live].sort());
  });

  it('a temp entry in use keeps its mtime fresh (the heartbeat the other containers go by)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const c = await fresh();
      const t = await createTempBlob(c, 'd'.repeat(64));
      const past = new Date(Date.now() - 3_600_000);
      await utimes(t.path, past, past);
      vi.advanceTimersByTime(HEARTBEAT_MS);
      for (let i = 0; i < 100 && (await stat(t.path)).mtimeMs < Date.now() - 60_000; i++) await new Promise((r) => setTimeout(r, 10));
      expect((await stat(t.path)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
      await t.discard();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('cache hits', () => {
  async function artifact(): Promise<{ file: string; body: Buffer; digest: string }> {
    const body = randomBytes(20_000);
    const file = join(dir, `artifact-${++n}.onnx`);
    await writeFile(file, body);
    return { file, body, digest: `sha256:${hexOf(body)}` };
  }

  it('a hit needs no source (the source is gone)', async () => {
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

  it('by default a flipped byte in sha256/<hex> is caught on the next start: warned, evicted, fetched again', async () => {
    const a = await artifact();
    const cacheDir = join(dir, `rehash-${n}`);
    const first = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false });
    const corrupt = Buffer.from(a.body);
    corrupt[a.body.length >> 1] = (corrupt[a.body.length >> 1] ?? 0) ^ 1;
    await chmod(first.path, 0o644);
    await writeFile(first.path, corrupt);
    const lines: string[] = [];
    const r = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false, env: {}, log: createLogger({ write: (l) => lines.push(l) }) });
    expect(r.cached).toBe(false);
    expect((await readFile(r.path)).equals(a.body)).toBe(true);
    expect(lines.some((l) => l.includes('"level":"warn"') && l.includes('evicting a corrupt cache entry'))).toBe(true);
  });

  it('MODELPIN_CACHE_VERIFY=size is the documented opt-out: a same-size corruption is trusted', async () => {
    const a = await artifact();
    const cacheDir = join(dir, `size-optout-${n}`);
    const first = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false });
    const corrupt = Buffer.from(a.body);
    corrupt[0] = (corrupt[0] ?? 0) ^ 1;
    await chmod(first.path, 0o644);
    await writeFile(first.path, corrupt);
    const trusted = await fetchArtifact({ uri: a.file, digest: a.digest, cacheDir, progress: false, env: { MODELPIN_CACHE_VERIFY: 'size' } });
    expect(trusted.cached).toBe(true); // the risk the user accepted
  });

  it('rejects an unknown MODELPIN_CACHE_VERIFY', async () => {
    const a = await artifact();
    await expect(fetchArtifact({ uri: a.file, digest: a.digest, cacheDir: join(dir, 'x'), env: { MODELPIN_CACHE_VERIFY: 'maybe' } })).rejects.toMatchObject({
      code: 'MODELPIN_E_SERVE_CONFIG',
    });
  });
});

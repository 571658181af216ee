// Safe extraction against real tar files: well-formed archives (built with the system tar) and
// hostile ones (hand-written headers via the tar package's Header), each with its outcome.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive, safeRelative } from '../../../../sidecar/archive/extract.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { tarOf, type TarEntry as E } from '../../../tools/tar-of.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-archive-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tryExtract(archive: Buffer, opts: { entry?: string; maxEntries?: number; maxBytes?: number } = {}) {
  const base = join(dir, `case-${++n}`);
  await mkdir(join(base, 'tmp', 'x'), { recursive: true });
  const file = join(base, 'artifact.tar');
  await writeFile(file, archive);
  const dest = join(base, 'out');
  const tmpDir = join(base, 'tmp', 'x');
  const result = await extractArchive(file, {
    tmpDir,
    dest,
    entry: opts.entry ?? 'model.onnx',
    limits: { maxEntries: opts.maxEntries ?? DEFAULT_ARCHIVE_LIMITS.maxEntries, maxBytes: opts.maxBytes ?? DEFAULT_ARCHIVE_LIMITS.maxBytes },
  }).catch((e: unknown) => e);
  return { base, dest, tmpDir, result };
}

const model = Buffer.from('onnx-model-bytes');

describe('safeRelative', () => {
  it('normalises harmless paths and flags unsafe ones', () => {
    expect(safeRelative('./a//b/./c')).toBe('a/b/c');
    expect(safeRelative('/etc/passwd')).toEqual({ unsafe: 'absolute path' });
    expect(safeRelative('a/../../b')).toEqual({ unsafe: '".." in path' });
    expect(safeRelative('C:/x')).toEqual({ unsafe: 'absolute path' });
  });
});

describe('extractArchive', () => {
  it('extracts a tar.gz made by the system tar, with nested dirs and an internal symlink', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'weights'), { recursive: true });
    await writeFile(join(src, 'weights', 'model.onnx'), model);
    await writeFile(join(src, 'labels.txt'), 'a\nb\n');
    await symlink('weights/model.onnx', join(src, 'model.onnx'));
    const tgz = join(dir, 'good.tar.gz');
    execFileSync('tar', ['-czf', tgz, '-C', src, '.']);
    const { dest, result, tmpDir } = await tryExtract(await readFile(tgz));
    expect(result).toBe(dest);
    expect((await readFile(join(dest, 'model.onnx'))).equals(model)).toBe(true);
    expect(await readFile(join(dest, 'labels.txt'), 'utf8')).toBe('a\nb\n');
    expect(existsSync(tmpDir)).toBe(false);
  });

  it('fails with MODELPIN_E_ARCHIVE when the entry is missing, listing what the archive has', async () => {
    const { result, dest } = await tryExtract(tarOf([{ path: 'other.onnx', body: model }]));
    expect(result).toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
    expect(String((result as Error).message)).toContain('other.onnx');
    expect(existsSync(dest)).toBe(false);
  });

  const hostile: [string, E[], string][] = [
    ['an absolute path', [{ path: '/tmp/modelpin-evil-abs', body: model }, { path: 'model.onnx', body: model }], 'absolute'],
    ['a .. path', [{ path: 'a/../../modelpin-evil-dotdot', body: model }, { path: 'model.onnx', body: model }], '".."'],
    ['a symlink escaping the tree', [{ path: 'model.onnx', body: model }, { path: 'evil', type: 'SymbolicLink', linkpath: '../../outside' }], 'leaves the archive'],
    ['an absolute symlink', [{ path: 'model.onnx', body: model }, { path: 'evil', type: 'SymbolicLink', linkpath: '/etc/passwd' }], 'absolute'],
    ['a file written through a symlink', [{ path: 'd', type: 'SymbolicLink', linkpath: '.' }, { path: 'd/model.onnx', body: model }], 'through the symlink'],
    ['a hard link escaping the tree', [{ path: 'model.onnx', body: model }, { path: 'evil', type: 'Link', linkpath: '../outside' }], 'hard link'],
    ['a hard link to an absolute path', [{ path: 'model.onnx', body: model }, { path: 'evil', type: 'Link', linkpath: '/etc/passwd' }], 'hard link'],
    ['a character device', [{ path: 'model.onnx', body: model }, { path: 'null', type: 'CharacterDevice' }], 'CharacterDevice'],
    ['a block device', [{ path: 'model.onnx', body: model }, { path: 'sda', type: 'BlockDevice' }], 'BlockDevice'],
    ['a FIFO', [{ path: 'model.onnx', body: model }, { path: 'pipe', type: 'FIFO' }], 'FIFO'],
  ];
  for (const [what, entries, needle] of hostile) {
    it(`refuses ${what} with MODELPIN_E_ARCHIVE and writes nothing`, async () => {
      const { result, dest, tmpDir, base } = await tryExtract(tarOf(entries));
      expect(result).toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
      expect(String((result as Error).message)).toContain(needle);
      expect(existsSync(dest)).toBe(false);
      expect(existsSync(tmpDir)).toBe(false);
      expect(existsSync('/tmp/modelpin-evil-abs')).toBe(false);
      expect(await readdir(base)).toEqual(['artifact.tar', 'tmp']);
    });
  }

  it('refuses archives over the entry-count cap', async () => {
    const entries: E[] = Array.from({ length: 12 }, (_, i) => ({ path: `f${i}`, body: model }));
    const { result } = await tryExtract(tarOf([...entries, { path: 'model.onnx', body: model }]), { maxEntries: 10 });
    expect(result).toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
    expect(String((result as Error).message)).toContain('more than 10 entries');
  });

  it('refuses archives over the byte cap before extracting (declared sizes)', async () => {
    // The header claims 1 TiB; the scan stops at the header, long before reading any data.
    const { result } = await tryExtract(tarOf([{ path: 'model.onnx', size: 1024 ** 4 }]), { maxBytes: 1024 * 1024 });
    expect(result).toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
    expect(String((result as Error).message)).toContain('bytes when extracted');
  });

  it('refuses a gzip bomb by its extracted size', async () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const bomb = gzipSync(tarOf([{ path: 'model.onnx', body: zeros }]));
    expect(bomb.length).toBeLessThan(100_000);
    const { result } = await tryExtract(bomb, { maxBytes: 1024 * 1024 });
    expect(result).toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
  });

  it('refuses something that is not a tar archive', async () => {
    const { result } = await tryExtract(Buffer.from('this is not a tar file at all'.repeat(40)));
    expect(result).toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
  });
});

describe('extractArchive when another process renamed its tree into place first', () => {
  const archive = tarOf([{ path: 'model.onnx', body: model }, { path: 'w.bin', body: Buffer.from('weights') }]);
  const hex = createHash('sha256').update(archive).digest('hex');
  async function race(theirs: (dest: string) => Promise<void>) {
    const base = join(dir, `race-${++n}`);
    await mkdir(join(base, 'tmp', 'x'), { recursive: true });
    const file = join(base, 'a.tar');
    await writeFile(file, archive);
    const dest = join(base, 'out');
    await mkdir(dest);
    await theirs(dest);
    const r = await extractArchive(file, { tmpDir: join(base, 'tmp', 'x'), dest, entry: 'model.onnx', limits: DEFAULT_ARCHIVE_LIMITS, expectedHex: hex });
    return { r, dest, base };
  }

  it('uses theirs when it matches the archive', async () => {
    const { r, dest, base } = await race(async (d) => {
      await writeFile(join(d, 'model.onnx'), model);
      await writeFile(join(d, 'w.bin'), 'weights');
    });
    expect(r).toBe(dest);
    expect(await readdir(join(base, 'tmp'))).toEqual([]);
  });

  it('replaces theirs when it does not', async () => {
    const { r, dest } = await race(async (d) => {
      await writeFile(join(d, 'model.onnx'), 'tampered-bytes!!');
      await writeFile(join(d, 'w.bin'), 'weights');
    });
    expect(r).toBe(dest);
    expect((await readFile(join(dest, 'model.onnx'))).equals(model)).toBe(true);
  });
});

describe('fetchArtifact with --format tar', () => {
  it('verifies, caches and extracts into extracted/<hex>/, and reuses the extraction', async () => {
    const archive = tarOf([{ path: 'nested', type: 'Directory' }, { path: 'nested/m.onnx', body: model }]);
    const file = join(dir, 'artifact.tar');
    await writeFile(file, archive);
    const digest = `sha256:${createHash('sha256').update(archive).digest('hex')}`;
    const cacheDir = join(dir, 'tar-cache');
    const r = await fetchArtifact({ uri: file, digest, format: 'tar', entry: 'nested/m.onnx', cacheDir, progress: false });
    expect(r.path).toBe(join(cacheDir, 'extracted', digest.slice(7)));
    expect(r.modelFile).toBe(join(r.path, 'nested/m.onnx'));
    expect((await readFile(r.modelFile)).equals(model)).toBe(true);
    await rm(file);
    const again = await fetchArtifact({ uri: file, digest, format: 'tar', entry: 'nested/m.onnx', cacheDir, progress: false });
    expect(again.cached).toBe(true);
    expect(again.path).toBe(r.path);
  });

  it('keeps a hostile archive out of extracted/ (the verified blob stays, nothing is extracted)', async () => {
    const archive = tarOf([{ path: 'model.onnx', body: model }, { path: 'evil', type: 'SymbolicLink', linkpath: '../../../etc' }]);
    const file = join(dir, 'hostile.tar');
    await writeFile(file, archive);
    const digest = `sha256:${createHash('sha256').update(archive).digest('hex')}`;
    const cacheDir = join(dir, 'hostile-cache');
    await expect(fetchArtifact({ uri: file, digest, format: 'tar', cacheDir, progress: false })).rejects.toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
    expect(await readdir(join(cacheDir, 'extracted'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
  });
});

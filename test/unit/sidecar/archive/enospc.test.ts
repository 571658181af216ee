// A full cache volume while extracting a tar is the volume's problem, not the archive's:
// MODELPIN_E_CACHE with the cache-volume hint (as for the plain blob), never MODELPIN_E_ARCHIVE
// with "rebuild the archive". The volume is a real, tiny tmpfs; mounting needs root (CAP_SYS_ADMIN),
// so the tests are skipped, saying why, where that is not available.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive } from '../../../../sidecar/archive/extract.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { tarOf } from '../../../tools/tar-of.js';

let dir: string;
const mounts: string[] = [];
let cannotMount: string | undefined;

async function tinyVolume(name: string, size: string): Promise<string> {
  const at = join(dir, name);
  await mkdir(at);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { stdio: 'pipe' });
  mounts.push(at);
  return at;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-enospc-'));
  try {
    await tinyVolume('probe', '64k');
  } catch (e) {
    cannotMount = `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); run as root to cover ENOSPC`;
  }
});
afterAll(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  await rm(dir, { recursive: true, force: true });
});

const FULL = expect.stringContaining('the cache volume is full');
const big = randomBytes(2 * 1024 * 1024);
const archive = tarOf([{ path: 'model.onnx', body: big }]);

describe('ENOSPC while extracting', () => {
  it('extractArchive reports the full volume as MODELPIN_E_CACHE and cleans up', async (ctx) => {
    if (cannotMount) return ctx.skip(cannotMount);
    const vol = await tinyVolume('extract', '1m');
    const file = join(dir, 'artifact.tar');
    await writeFile(file, archive);
    await mkdir(join(vol, 'tmp'));
    const err = await extractArchive(file, { tmpDir: join(vol, 'tmp'), dest: join(vol, 'out'), entry: 'model.onnx', limits: DEFAULT_ARCHIVE_LIMITS }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_CACHE', message: expect.stringContaining('ENOSPC'), problems: [expect.objectContaining({ hint: FULL })] });
    expect(await readdir(vol)).toEqual([]);
  });

  it('also when the volume fills up between files (the write that fails reports ENOSPC)', async (ctx) => {
    if (cannotMount) return ctx.skip(cannotMount);
    const vol = await tinyVolume('many', '1m');
    const file = join(dir, 'many.tar');
    await writeFile(file, tarOf([...Array.from({ length: 12 }, (_, i) => ({ path: `part-${i}.bin`, body: randomBytes(200 * 1024) })), { path: 'model.onnx', body: big.subarray(0, 1000) }]));
    await mkdir(join(vol, 'tmp'));
    const err = await extractArchive(file, { tmpDir: join(vol, 'tmp'), dest: join(vol, 'out'), entry: 'model.onnx', limits: DEFAULT_ARCHIVE_LIMITS }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_CACHE', message: expect.stringContaining('ENOSPC'), problems: [expect.objectContaining({ hint: FULL })] });
    expect(await readdir(vol)).toEqual([]);
  });

  it('fetchArtifact --format tar on a cache volume with room for the blob but not the tree', async (ctx) => {
    if (cannotMount) return ctx.skip(cannotMount);
    const cacheDir = await tinyVolume('cache', '3m');
    const file = join(dir, 'model.tar');
    await writeFile(file, archive);
    const digest = `sha256:${createHash('sha256').update(archive).digest('hex')}`;
    const err = await fetchArtifact({ uri: file, digest, format: 'tar', cacheDir, progress: false, env: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_CACHE', message: expect.stringContaining('ENOSPC'), problems: [expect.objectContaining({ hint: FULL })] });
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'extracted'))).toEqual([]);
  });
});

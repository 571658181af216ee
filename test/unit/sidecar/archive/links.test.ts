// Links in tar artifacts, judged against the tree as extracted (the README promises that no
// link leaves it). Each hostile archive is a real tar file built here; every one must end in
// MODELPIN_E_ARCHIVE with nothing extracted and nothing written outside. Text-only checks let
// through the first few: `d/e/r -> ../..` names the root, yet `up -> d/e/r/..` leaves it.
// The controls are legitimate layouts that must keep working; links whose meaning depends on
// another link are refused by policy.
import { lstat, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive } from '../../../../sidecar/archive/extract.js';
import { tarOf, type TarEntry } from '../../../tools/tar-of.js';

const model = Buffer.from('onnx-model-bytes');
const M: TarEntry = { path: 'model.onnx', body: model };
const ln = (path: string, linkpath: string): TarEntry => ({ path, type: 'SymbolicLink', linkpath });
const hard = (path: string, linkpath: string): TarEntry => ({ path, type: 'Link', linkpath });
const d = (path: string): TarEntry => ({ path, type: 'Directory' });
const f = (path: string): TarEntry => ({ path, body: Buffer.from(path) });

export const HOSTILE: [string, TarEntry[]][] = [
  ['deep link to the root, then .. through it', [M, d('d'), d('d/e'), ln('d/e/r', '../..'), ln('up', 'd/e/r/..')]],
  ['a -> . plus up -> a/..', [M, ln('a', '.'), ln('up', 'a/..')]],
  ['a -> . then a/a/a/..', [M, ln('a', '.'), ln('b', 'a/a/a/..')]],
  ['d/up -> .. then d/up2 -> up/..', [M, d('d'), ln('d/up', '..'), ln('d/up2', 'up/..')]],
  ['a link four levels deep to the root, then ../model.onnx through it', [M, d('a/b/c/d'), ln('a/b/c/d/l', '../../../..'), ln('m', 'a/b/c/d/l/../model.onnx')]],
  ['the model entry itself leaving through a -> .', [ln('a', '.'), ln('model.onnx', 'a/../etc/passwd')]],
  ['a dir link followed by more .. than it is deep', [M, d('x/y'), ln('dl', 'x/y'), ln('esc', 'dl/../../..')]],
  ['a plain ../ target', [M, ln('evil', '../../outside')]],
  ['an absolute target', [M, ln('evil', '/etc/passwd')]],
  ['a two-link loop', [M, ln('a', 'b'), ln('b', 'a')]],
  ['a link to itself', [M, ln('a', 'a')]],
  ['a chain of 41 links (more than the kernel follows)', [M, ...Array.from({ length: 41 }, (_, i) => ln(`l${i}`, i === 40 ? 'model.onnx' : `l${i + 1}`))]],
  ['a dangling link', [M, ln('x', 'missing')]],
  ['a dangling link followed by ..', [M, ln('x', 'missing/..')]],
  ['a link through a file', [M, ln('x', 'model.onnx/..')]],
  ['a link to a file with a trailing slash', [M, ln('x', 'model.onnx/')]],
  ['a hard link to a symlink, moving its relative target up', [M, d('deep/a'), f('deep/x'), ln('deep/a/l', '../x'), hard('h', 'deep/a/l')]],
  ['a hard link to a directory', [M, d('dir'), hard('h', 'dir')]],
  ['a hard link to nothing', [M, hard('h', 'nothere')]],
  ['a hard link to a file that comes later', [M, hard('h', 'later'), f('later')]],
  ['a hard link through ..', [M, hard('h', 'a/../model.onnx')]],
  ['a file written through an earlier symlink', [ln('d', '.'), { path: 'd/model.onnx', body: model }]],
  ['a symlink replacing a directory that has files', [M, d('d'), f('d/f'), ln('d', '.')]],
  ['a symlink replacing an implied directory', [M, f('d/f'), ln('d', '.')]],
  ['a symlink replacing an earlier file', [M, f('x'), ln('x', 'model.onnx')]],
  ['a file replacing an earlier symlink', [M, ln('x', 'model.onnx'), f('x')]],
  ['the archive root as a symlink', [M, ln('./', '..')]],
  ['a PAX path with ..', [M, { path: 'innocent', body: model, pax: { path: '../pax-evil' } }]],
  ['a PAX linkpath escaping', [M, { path: 'innocent', type: 'SymbolicLink', linkpath: 'model.onnx', pax: { linkpath: '../../../etc' } }]],
  ['a GNU long linkpath escaping', [M, { path: 'innocent', type: 'SymbolicLink', linkpath: 'model.onnx', gnuLong: { linkpath: `${'../'.repeat(60)}etc/passwd` } }]],
  ['a GNU long path through a symlink', [M, ln('s', '.'), { path: 'x', body: model, gnuLong: { path: `s/${'a'.repeat(120)}` } }]],
];

/** Harmless, but a link whose meaning depends on another link is refused (tar refuses most too). */
const POLICY: [string, TarEntry[]][] = [
  ['a link through a directory link', [d('weights'), { path: 'weights/m.onnx', body: model }, ln('w', 'weights'), ln('model.onnx', 'w/m.onnx')]],
  ['a link to a link', [M, ln('a', 'model.onnx'), ln('b', 'a')]],
  ['d/e/r -> ../.. and a sibling through it', [M, d('d/e'), ln('d/e/r', '../..'), ln('m2', 'd/e/r/model.onnx')]],
];

const CONTROLS: [string, TarEntry[]][] = [
  ['model.onnx -> weights/model.onnx', [d('weights'), { path: 'weights/model.onnx', body: model }, ln('model.onnx', 'weights/model.onnx')]],
  ['a -> . on its own', [M, ln('a', '.')]],
  ['d/up -> .. (the root)', [M, d('d'), ln('d/up', '..')]],
  ['a directory link', [M, d('v2'), f('v2/x'), ln('latest', 'v2')]],
  ['a hard link to an earlier file', [M, hard('copy.onnx', 'model.onnx')]],
  ['a ./ root entry and nested directories', [d('./'), d('./a/'), d('./a/b/'), { path: './a/b/c.bin', body: model }, { path: './model.onnx', body: model }]],
  ['a link forward to a file that comes later', [ln('model.onnx', 'real.onnx'), { path: 'real.onnx', body: model }]],
];

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-links-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(entries: TarEntry[]) {
  // A sandbox per case: base/{artifact.tar, tmp/x, out}; anything else appearing in base (or
  // above it) was written outside the tree.
  const base = join(dir, `case-${++n}`, 'inner');
  await mkdir(join(base, 'tmp', 'x'), { recursive: true });
  const file = join(base, 'artifact.tar');
  await writeFile(file, tarOf(entries));
  const dest = join(base, 'out');
  const result = await extractArchive(file, { tmpDir: join(base, 'tmp', 'x'), dest, entry: 'model.onnx', limits: DEFAULT_ARCHIVE_LIMITS }).catch((e: unknown) => e);
  return { base, dest, result };
}

/** Every symlink under `root`, resolved on disk, and where it lands relative to `root`. */
async function escapes(root: string): Promise<string[]> {
  const realRoot = await realpath(root);
  const out: string[] = [];
  const walk = async (p: string): Promise<void> => {
    for (const name of await readdir(p)) {
      const q = join(p, name);
      const st = await lstat(q);
      if (st.isSymbolicLink()) {
        const real = await realpath(q).catch(() => 'dangling');
        if (real !== realRoot && !real.startsWith(realRoot + sep)) out.push(`${q} -> ${real}`);
      } else if (st.isDirectory()) await walk(q);
    }
  };
  await walk(root);
  return out;
}

describe('hostile links in tar artifacts', () => {
  it(`has a table of ${HOSTILE.length} hostile archives`, () => expect(HOSTILE.length).toBeGreaterThanOrEqual(24));
  for (const [what, entries] of HOSTILE) {
    it(`refuses ${what}`, async () => {
      const { base, dest, result } = await run(entries);
      expect(result, `${what}: extracted instead of refused`).toMatchObject({ code: 'MODELPIN_E_ARCHIVE' });
      expect(await readdir(base)).toEqual(['artifact.tar', 'tmp']);
      expect(await readdir(join(base, 'tmp'))).toEqual([]);
      expect(await readdir(join(base, '..'))).toEqual(['inner']);
      void dest;
    });
  }
});

describe('links that depend on other links are refused', () => {
  for (const [what, entries] of POLICY) {
    it(`refuses ${what}, saying which link`, async () => {
      const { result } = await run(entries);
      expect(result).toMatchObject({ code: 'MODELPIN_E_ARCHIVE', message: expect.stringMatching(/symlink "[^"]+" → .* (another symlink|through the symlink)/) });
    });
  }
});

describe('legitimate links keep working', () => {
  for (const [what, entries] of CONTROLS) {
    it(`extracts ${what}, every link resolving inside the tree`, async () => {
      const { dest, result } = await run(entries);
      expect(result).toBe(dest);
      expect(await escapes(dest)).toEqual([]);
    });
  }
});

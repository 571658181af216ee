// Seeded hostile-tar fuzz: archives generated from a vocabulary of path segments ('.', '..',
// '', absolute roots), entry types (files, directories, symlinks, hard links, devices) and link
// targets, plus byte-level mutations of such archives (checksums fixed, so they parse). Every
// result must be either a clean extraction (every path and every link, resolved on disk,
// inside the tree; the tree matching the archive under verifyExtracted) or MODELPIN_E_ARCHIVE,
// and nothing may be written outside. Bounded and seeded: FUZZ_SEED=<n> replays one archive.
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive, verifyExtracted } from '../../../../sidecar/archive/extract.js';
import { ModelpinError } from '../../../../src/errors.js';
import { seeded } from '../../../tools/hostile-http.js';
import { tarOf, type TarEntry } from '../../../tools/tar-of.js';

const GENERATED = 300;
const MUTATED = 150;
const only = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

const SEGS = ['a', 'b', 'd', 'model.onnx', 'x.bin', '.', '..', '', 'canary'];
const TYPES = ['File', 'File', 'File', 'Directory', 'Directory', 'SymbolicLink', 'SymbolicLink', 'SymbolicLink', 'Link', 'Link', 'FIFO', 'CharacterDevice'] as const;
/** Half the archives lean benign (no '..', no devices, links to what exists), so clean extractions get checked too. */
const MILD_SEGS = ['a', 'b', 'd', 'x.bin'];
const MILD_TYPES = ['File', 'File', 'Directory', 'SymbolicLink', 'Link'] as const;

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomPath(rnd: () => number, maxSegs: number, mild: boolean): string {
  const n = 1 + Math.floor(rnd() * maxSegs);
  const p = Array.from({ length: n }, () => pick(rnd, mild ? MILD_SEGS : SEGS)).join('/');
  if (mild) return p;
  const r = rnd();
  return r < 0.05 ? `/${p}` : r < 0.15 ? `./${p}` : r < 0.18 ? `../${p}` : p;
}

function generate(seed: number): TarEntry[] {
  const rnd = seeded(seed);
  const mild = rnd() < 0.5;
  const entries: TarEntry[] = [];
  if (mild || rnd() < 0.7) entries.push({ path: 'model.onnx', body: Buffer.from(`model-${seed}`) });
  const n = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) {
    const type = pick(rnd, mild ? MILD_TYPES : TYPES);
    const path = randomPath(rnd, mild ? 3 : 4, mild);
    if (mild && entries.some((e) => e.path === path || e.path.startsWith(`${path}/`) || path.startsWith(`${e.path}/`))) continue;
    if (type === 'File') entries.push({ path, body: Buffer.from(`${seed}-${i}`) });
    else if (type === 'Directory') entries.push({ path, type });
    else if (type === 'SymbolicLink' || type === 'Link') {
      let target = !mild && rnd() < 0.1 ? pick(rnd, ['/etc/passwd', '/', '/tmp']) : randomPath(rnd, mild ? 2 : 5, mild);
      // Mild archives mostly link to something they have: a hard link by its path, a symlink
      // relative to its own directory.
      const have = entries.map((e) => e.path);
      if (mild && have.length > 0 && rnd() < 0.9) {
        const to = pick(rnd, have);
        target = type === 'Link' ? to : posix.relative(posix.dirname(path), to) || '.';
      }
      entries.push({ path, type, linkpath: target === '' ? '.' : target });
    } else entries.push({ path, type });
  }
  // Order matters for links: hostile archives are sometimes reversed.
  if (!mild && rnd() < 0.5) entries.reverse();
  return entries;
}

/** Flip bytes in one header block and fix its checksum, so the parser takes the mutation. */
function mutate(seed: number): Buffer {
  const rnd = seeded(seed);
  const tar = Buffer.from(tarOf(generate(seed + 100_000)));
  const headers: number[] = [];
  for (let off = 0; off + 512 <= tar.length - 1024; off += 512) if (tar.subarray(off + 257, off + 262).toString() === 'ustar') headers.push(off);
  if (headers.length === 0) return tar;
  const h = pick(rnd, headers);
  const flips = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < flips; i++) {
    // Mostly in the name, type and link name fields, where escapes live.
    const field = pick(rnd, [[0, 100], [156, 157], [157, 257], [345, 500]] as const);
    const at = h + field[0] + Math.floor(rnd() * (field[1] - field[0]));
    tar[at] = pick(rnd, [0x2f, 0x2e, 0x00, 0x30 + Math.floor(rnd() * 10), Math.floor(rnd() * 256)]);
  }
  tar.fill(0x20, h + 148, h + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[h + i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, h + 148, 'latin1');
  return tar;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-tar-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listAll(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string): Promise<void> => {
    for (const name of await readdir(p)) {
      const q = join(p, name);
      out.push(q);
      const st = await lstat(q);
      if (st.isDirectory()) await walk(q);
    }
  };
  await walk(root);
  return out.sort();
}

/** Extract one archive in a sandbox and check the outcome; returns 'ok' or the refusal. */
async function check(name: string, archive: Buffer): Promise<'ok' | 'refused'> {
  // sandbox/{canary, inner/{artifact.tar, tmp/x}}: links aim at ../canary and friends.
  const sandbox = join(dir, name);
  const inner = join(sandbox, 'inner');
  await mkdir(join(inner, 'tmp', 'x'), { recursive: true });
  await writeFile(join(sandbox, 'canary'), 'canary');
  const file = join(inner, 'artifact.tar');
  await writeFile(file, archive);
  const dest = join(inner, 'out');
  const before = await listAll(sandbox);
  const r = await extractArchive(file, { tmpDir: join(inner, 'tmp', 'x'), dest, entry: 'model.onnx', limits: DEFAULT_ARCHIVE_LIMITS }).catch((e: unknown) => e);
  expect(await readFile(join(sandbox, 'canary'), 'utf8')).toBe('canary');
  const after = (await listAll(sandbox)).filter((p) => p !== dest && !p.startsWith(dest + sep));
  expect(after, `${name}: something was written outside the tree`).toEqual(before.filter((p) => p !== join(inner, 'tmp', 'x')));
  if (r !== dest) {
    expect(r, `${name}: ${String(r)}`).toBeInstanceOf(ModelpinError);
    expect((r as ModelpinError).code, `${name}: ${(r as Error).message}`).toBe('MODELPIN_E_ARCHIVE');
    return 'refused';
  }
  const realDest = await realpath(dest);
  for (const p of await listAll(dest)) {
    const st = await lstat(p);
    expect(st.isFile() || st.isDirectory() || st.isSymbolicLink(), `${name}: ${p} has an odd type`).toBe(true);
    if (st.isSymbolicLink()) {
      const real = await realpath(p);
      expect(real === realDest || real.startsWith(realDest + sep), `${name}: ${p} resolves to ${real}`).toBe(true);
    }
  }
  const v = await verifyExtracted(file, dest);
  expect(v).toEqual({ hex: createHash('sha256').update(archive).digest('hex') });
  return 'ok';
}

describe('hostile-tar fuzz (seeded)', () => {
  it(`${only ?? GENERATED} generated archives: clean extraction inside the tree, or MODELPIN_E_ARCHIVE`, async () => {
    const seeds = only === undefined ? Array.from({ length: GENERATED }, (_, i) => i + 1) : [only];
    const tally = { ok: 0, refused: 0 };
    for (const seed of seeds) tally[await check(`g${seed}`, tarOf(generate(seed)))]++;
    if (process.env.FUZZ_DEBUG) console.log(tally);
    if (only === undefined) {
      expect(tally.ok).toBeGreaterThan(50);
      expect(tally.refused).toBeGreaterThan(100);
    }
  }, 120_000);

  it(`${only ?? MUTATED} mutated archives: the same, whatever the parser makes of them`, async () => {
    const seeds = only === undefined ? Array.from({ length: MUTATED }, (_, i) => i + 1) : [only];
    for (const seed of seeds) await check(`m${seed}`, mutate(seed));
  }, 120_000);
});

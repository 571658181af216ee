// Safe extraction of tar / tar.gz artifacts. Three checks, each of which alone would refuse the
// known escapes:
//   1. a scan of the headers that refuses anything unsafe before a single file is written
//      (TreeModel: paths, duplicates, hard links, and every symlink resolved against the tree);
//   2. extraction with the `tar` package in strict mode, re-running the same checks on the
//      entries it actually extracts, from a stream hashed on the way (so the bytes extracted are
//      the pinned bytes even if the cached blob changed after the scan);
//   3. a walk of the extracted temp tree that resolves every symlink with realpath(3), i.e.
//      against the tree as it is on disk, before the tree is renamed into place whole.
// Refused (MODELPIN_E_ARCHIVE): absolute paths, `..` segments, symlinks that do not resolve to a
// file or directory inside the tree, hard links to anything but an earlier regular file, paths
// that go through a symlink, duplicate paths, devices and FIFOs, more entries or more total bytes
// than the caps. A full or read-only cache volume is MODELPIN_E_CACHE, as for the plain blob.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, rename, rm, stat, statfs } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Parser, Unpack, type ReadEntry } from 'tar';
import { ModelpinError } from '../../src/errors.js';
import { cacheError } from '../cache/index.js';
import type { ArchiveLimits } from './limits.js';
import { TreeModel } from './tree.js';

export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './limits.js';

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
/** Errors that mean the cache volume cannot take the tree, not that the archive is bad. */
const VOLUME_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);
const READ_CHUNK = 4 << 20;

function refuse(archive: string, msg: string, hint = 'rebuild the archive with relative paths inside one directory tree (e.g. `tar -czf model.tar.gz -C dir .`)'): ModelpinError {
  return new ModelpinError('MODELPIN_E_ARCHIVE', `${archive}: ${msg}`, { hint });
}

/** Normalised relative path, or an error string describing why it is unsafe. */
export function safeRelative(p: string): string | { unsafe: string } {
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) return { unsafe: 'absolute path' };
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) return { unsafe: '".." in path' };
  return parts.join('/');
}

export interface ScanResult {
  entries: number;
  bytes: number;
  files: string[];
  /** Declared size of every regular file (not hard links), by normalised path. */
  sizes: Map<string, number>;
}

/** The per-entry rules of the scan, reusable for the entries the extractor sees. */
function entryChecker(limits: ArchiveLimits, describe: string) {
  const tree = new TreeModel();
  const files: string[] = [];
  const sizes = new Map<string, number>();
  let entries = 0;
  let bytes = 0;
  return {
    check(entry: ReadEntry): void {
      entries++;
      if (entries > limits.maxEntries) throw refuse(describe, `more than ${limits.maxEntries} entries`, 'raise MODELPIN_ARCHIVE_MAX_ENTRIES if the archive is legitimate');
      if (!ALLOWED.has(entry.type)) throw refuse(describe, `entry "${entry.path}" is a ${entry.type}; only files, directories and links are allowed`);
      const rel = safeRelative(entry.path);
      if (typeof rel !== 'string') throw refuse(describe, `entry "${entry.path}" has an unsafe path (${rel.unsafe})`);
      let why: string | undefined;
      if (entry.type === 'SymbolicLink') {
        const target = entry.linkpath ?? '';
        if (target === '' || target.startsWith('/')) throw refuse(describe, `symlink "${entry.path}" points to the absolute path "${target}"`);
        why = tree.add(rel, { kind: 'symlink', target });
      } else if (entry.type === 'Link') {
        const target = safeRelative(entry.linkpath ?? '');
        if (typeof target !== 'string' || target === '') throw refuse(describe, `hard link "${entry.path}" → "${entry.linkpath ?? ''}" escapes the archive`);
        why = tree.addHardLink(rel, target);
        if (why) why = `(a hard link) ${why}`;
      } else {
        why = tree.add(rel, { kind: entry.type === 'Directory' ? 'dir' : 'file' });
      }
      if (why) throw refuse(describe, `entry "${entry.path}" ${why}`);
      if (FILE_TYPES.has(entry.type)) {
        bytes += entry.size;
        files.push(rel);
        sizes.set(rel, entry.size);
        if (bytes > limits.maxBytes) throw refuse(describe, `more than ${limits.maxBytes} bytes when extracted`, 'raise MODELPIN_ARCHIVE_MAX_BYTES if the archive is legitimate');
      }
    },
    /** After the last entry: resolve every symlink against the whole tree. */
    finish(): ScanResult {
      const bad = tree.checkLinks();
      if (bad) throw refuse(describe, `symlink "${bad[0]}" → "${(tree.nodes.get(bad[0]) as { target: string }).target}" resolves to ${bad[1]}`);
      return { entries, bytes, files, sizes };
    },
  };
}

/** First pass: list every entry and refuse the archive at the first unsafe one. */
export async function scanArchive(file: string, limits: ArchiveLimits, describe = file): Promise<ScanResult> {
  const checker = entryChecker(limits, describe);
  return new Promise<ScanResult>((resolve, reject) => {
    const input = createReadStream(file);
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      input.destroy();
      reject(e instanceof ModelpinError ? e : refuse(describe, `not a readable tar archive (${e.message})`, 'the artifact must be a .tar or .tar.gz file'));
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        try {
          checker.check(entry);
        } catch (e) {
          fail(e as Error);
        }
        entry.resume();
      },
    });
    parser.on('error', (e: Error) => fail(e));
    parser.on('warn', (_code: string, msg: string) => fail(new Error(msg)));
    parser.on('end', () => {
      if (failed) return;
      try {
        resolve(checker.finish());
      } catch (e) {
        fail(e as Error);
      }
    });
    input.on('error', (e) => fail(e));
    input.pipe(parser);
  });
}

/**
 * Read `file` once, hashing the raw bytes, and hand each chunk to a tar stream (until the
 * stream fails: the hash still covers the whole file). The stream is always ended, so an
 * extractor settles ('close') even when reading stops early. Resolves with the hex.
 */
async function feedHashed(file: string, sink: Parser, signal?: AbortSignal): Promise<string> {
  let failed = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    failed = true;
    wake?.();
  };
  sink.on('error', stop);
  sink.on('abort', stop);
  const hash = createHash('sha256');
  let fh;
  try {
    fh = await open(file, 'r');
    for (let pos = 0; ; ) {
      signal?.throwIfAborted();
      // A fresh buffer per chunk: the parser keeps references to what it is given.
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      if (!failed && !sink.write(chunk) && !failed) {
        await new Promise<void>((r) => {
          wake = r;
          sink.once('drain', r);
        });
        wake = undefined;
      }
    }
  } finally {
    await fh?.close();
    sink.end();
  }
  return hash.digest('hex');
}

/**
 * The extracted tree as it is on disk: every symlink, resolved with realpath(3), lands on a file
 * or directory inside; every file has the size its header declared. The `tar` package drops
 * the rest of a short write(2) without an error (seen on a full volume: a 2 MiB entry became
 * 1 MiB and extraction "succeeded"), so a short file is reported here, as the volume problem
 * it nearly always is.
 */
async function checkOnDisk(root: string, describe: string, sizes: Map<string, number>): Promise<void> {
  const realRoot = await realpath(root);
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      const rel = relative(root, p);
      if (d.isDirectory()) await walk(p);
      else if (d.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(p);
        } catch (e) {
          throw refuse(describe, `symlink "${rel}" does not resolve inside the extracted tree (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
        }
        if (real !== realRoot && !real.startsWith(realRoot + sep)) throw refuse(describe, `symlink "${rel}" resolves outside the extracted tree`);
        const st = await stat(real);
        if (!st.isFile() && !st.isDirectory()) throw refuse(describe, `symlink "${rel}" resolves to something that is neither a file nor a directory`);
      } else if (d.isFile()) {
        const want = sizes.get(rel.split(sep).join('/'));
        const got = (await lstat(p)).size;
        if (want !== undefined && got !== want) throw await shortWrite(root, rel, got, want);
      } else throw refuse(describe, `"${rel}" is neither a file, a directory nor a symlink`);
    }
  };
  await walk(root);
}

async function shortWrite(root: string, rel: string, got: number, want: number): Promise<ModelpinError> {
  const fs = await statfs(root).catch(() => undefined);
  const free = fs === undefined ? undefined : fs.bavail * fs.bsize;
  const full = free !== undefined && free < want - got;
  const what = `cannot extract into ${root} ("${rel}" was written short: ${got} of ${want} bytes${free === undefined ? '' : `, ${free} bytes free on the volume`})`;
  return cacheError(what, Object.assign(new Error(what), { code: full ? 'ENOSPC' : 'EIO' }));
}

/**
 * Extract `file` into `tmpDir`, check `entry` is a regular file inside, then rename to `dest`.
 * With `expectedHex`, the bytes extracted must hash to it. Returns `dest`. On any failure
 * `tmpDir` is removed.
 */
export async function extractArchive(
  file: string,
  opts: { tmpDir: string; dest: string; entry: string; limits: ArchiveLimits; describe?: string; expectedHex?: string; signal?: AbortSignal },
): Promise<string> {
  const describe = opts.describe ?? file;
  const entry = safeRelative(opts.entry);
  if (typeof entry !== 'string' || entry === '') {
    throw new ModelpinError('MODELPIN_E_USAGE', `--entry "${opts.entry}" must be a relative path inside the archive`, { hint: 'e.g. --entry model.onnx' });
  }
  try {
    const scan = await scanArchive(file, opts.limits, describe);
    const again = entryChecker(opts.limits, describe);
    let refused: unknown;
    const unpack = new Unpack({
      cwd: opts.tmpDir,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      // The scan's rules again, on the entries actually written.
      filter: (_p, e) => {
        if (refused !== undefined || !('type' in e)) return false;
        try {
          again.check(e);
          return true;
        } catch (err) {
          refused = err;
          return false;
        }
      },
    });
    // Wait for the extractor to settle before anything else (even on failure), so none of its
    // pending writes lands in the temp dir after it was removed.
    let failure: unknown;
    unpack.on('error', (e: unknown) => void (failure ??= e));
    const settled = new Promise<void>((resolve) => {
      unpack.on('close', () => resolve());
      unpack.on('abort', () => resolve());
      opts.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    let hex: string;
    try {
      hex = await feedHashed(file, unpack, opts.signal);
    } finally {
      await settled;
    }
    if (failure !== undefined) throw failure;
    if (refused !== undefined) throw refused;
    again.finish();
    if (opts.expectedHex !== undefined && hex !== opts.expectedHex) {
      throw new ModelpinError('MODELPIN_E_CACHE', `${describe}: the cached archive changed on disk while it was being extracted (now sha256:${hex}); nothing was extracted`, {
        hint: 'something else writes the cache volume; give each pod its own emptyDir, then restart',
      });
    }
    await checkOnDisk(opts.tmpDir, describe, scan.sizes);
    const target = join(opts.tmpDir, entry);
    let real: string;
    try {
      real = await realpath(target);
    } catch {
      const sample = scan.files.slice(0, 10).join(', ');
      throw refuse(describe, `the entry "${entry}" is not in the archive (it has: ${sample || 'no files'}${scan.files.length > 10 ? ', …' : ''})`, 'set spec.model.entry / --entry to the path of the .onnx inside the archive');
    }
    const root = await realpath(opts.tmpDir);
    if (!real.startsWith(root + sep) || !(await stat(real)).isFile()) {
      throw refuse(describe, `the entry "${entry}" is not a regular file inside the archive`);
    }
    try {
      await rename(opts.tmpDir, opts.dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      // Another process (another container on the same cache) finished the same extraction
      // first. Use theirs if it matches the archive (with expectedHex, checked like a hit);
      // otherwise replace it with ours, once.
      const theirs = opts.expectedHex === undefined ? undefined : await verifyExtracted(file, opts.dest, opts.signal ? { signal: opts.signal } : {});
      if (theirs === undefined || (theirs.hex === opts.expectedHex && theirs.problem === undefined)) {
        await rm(opts.tmpDir, { recursive: true, force: true });
      } else {
        await rm(opts.dest, { recursive: true, force: true });
        await rename(opts.tmpDir, opts.dest);
      }
    }
    return opts.dest;
  } catch (e) {
    await rm(opts.tmpDir, { recursive: true, force: true }).catch(() => {});
    if (e instanceof ModelpinError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && VOLUME_ERRORS.has(code)) throw cacheError(`cannot extract ${describe} into ${opts.tmpDir}`, e);
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw refuse(describe, `extraction failed: ${(e as Error).message}`);
  }
}

export interface TreeCheck {
  /** SHA-256 of the archive file as read in this pass. */
  hex: string;
  /** Why the extracted tree does not match the archive, or undefined when it does. */
  problem?: string;
}

/**
 * One pass over the archive that both hashes it and compares the extracted tree at `dir` with
 * it, entry by entry: file contents byte for byte, symlink targets, hard links (same inode as
 * their target), directories, and nothing extra on disk. The caller trusts the comparison only
 * if `hex` is the pin. Costs one read of the archive and one of the tree, one SHA-256 (the
 * comparison is memcmp), instead of hashing everything twice.
 */
export async function verifyExtracted(file: string, dir: string, opts: { signal?: AbortSignal } = {}): Promise<TreeCheck> {
  let problem: string | undefined;
  const seen = new Map<string, 'dir' | 'file' | 'symlink'>([['', 'dir']]);
  const note = (p: string) => {
    problem ??= p;
  };
  let pending: Promise<void> = Promise.resolve();
  const parser = new Parser({ strict: true });
  parser.on('error', (e: Error) => note(`the archive no longer parses (${e.message})`));
  parser.on('warn', (_c: string, msg: string) => note(`the archive no longer parses (${msg})`));
  parser.on('entry', (entry: ReadEntry) => {
    if (problem !== undefined) return void entry.resume(); // decided: only the hash matters now
    const work = compareEntry(entry, dir, seen).then(
      (p) => {
        if (p !== undefined) note(p);
      },
      (e: unknown) => note(`cannot read the extracted tree (${(e as NodeJS.ErrnoException).code ?? String(e)})`),
    );
    pending = pending.then(() => work);
  });
  const hex = await feedHashed(file, parser, opts.signal);
  await pending;
  if (problem === undefined) {
    // Parents of archive entries exist on disk without an entry of their own.
    for (const k of [...seen.keys()]) {
      for (let i = k.indexOf('/'); i > 0; i = k.indexOf('/', i + 1)) if (!seen.has(k.slice(0, i))) seen.set(k.slice(0, i), 'dir');
    }
    const extra = await findExtra(dir, seen);
    if (extra !== undefined) note(extra);
  }
  return problem === undefined ? { hex } : { hex, problem };
}

async function compareEntry(entry: ReadEntry, dir: string, seen: Map<string, 'dir' | 'file' | 'symlink'>): Promise<string | undefined> {
  const rel = safeRelative(entry.path);
  const drain = () => entry.resume();
  if (typeof rel !== 'string') return drain(), `entry "${entry.path}" is unsafe`;
  const p = join(dir, rel);
  let st;
  try {
    st = await lstat(p);
  } catch {
    drain();
    return `"${rel}" is missing`;
  }
  if (entry.type === 'Directory') {
    drain();
    seen.set(rel, 'dir');
    return st.isDirectory() ? undefined : `"${rel}" is no longer a directory`;
  }
  if (entry.type === 'SymbolicLink') {
    drain();
    seen.set(rel, 'symlink');
    if (!st.isSymbolicLink()) return `"${rel}" is no longer a symlink`;
    return (await readlink(p)) === entry.linkpath ? undefined : `symlink "${rel}" points elsewhere`;
  }
  seen.set(rel, 'file');
  if (!st.isFile()) return drain(), `"${rel}" is no longer a regular file`;
  if (entry.type === 'Link') {
    drain();
    const target = safeRelative(entry.linkpath ?? '');
    if (typeof target !== 'string') return `hard link "${rel}" is unsafe`;
    const t = await lstat(join(dir, target)).catch(() => undefined);
    return t !== undefined && t.ino === st.ino && t.dev === st.dev ? undefined : `hard link "${rel}" no longer shares "${target}"`;
  }
  if (st.size !== entry.size) return drain(), `"${rel}" has ${st.size} bytes, the archive ${entry.size}`;
  // Compare the content byte for byte, reading the file in large blocks whatever the size of
  // the chunks the parser hands out.
  const fh = await open(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, entry.size)));
    let window = buf.subarray(0, 0);
    let wpos = 0;
    let pos = 0;
    let differs = false;
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      if (differs) continue;
      let off = 0;
      while (off < chunk.length) {
        if (wpos === window.length) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) {
            differs = true;
            break;
          }
          pos += bytesRead;
          window = buf.subarray(0, bytesRead);
          wpos = 0;
        }
        const n = Math.min(chunk.length - off, window.length - wpos);
        if (!chunk.subarray(off, off + n).equals(window.subarray(wpos, wpos + n))) {
          differs = true;
          break;
        }
        off += n;
        wpos += n;
      }
    }
    return differs ? `"${rel}" differs from the archive` : undefined;
  } finally {
    await fh.close();
  }
}

/** A path on disk that the archive does not have, if any. */
async function findExtra(dir: string, seen: Map<string, 'dir' | 'file' | 'symlink'>): Promise<string | undefined> {
  const walk = async (abs: string): Promise<string | undefined> => {
    for (const d of await readdir(abs, { withFileTypes: true })) {
      const p = join(abs, d.name);
      const rel = relative(dir, p).split(sep).join('/');
      const kind = seen.get(rel);
      if (kind === undefined) return `"${rel}" is not in the archive`;
      if (kind === 'dir' && d.isDirectory()) {
        const deeper = await walk(p);
        if (deeper !== undefined) return deeper;
      }
    }
    return undefined;
  };
  return walk(dir);
}

// Safe extraction of tar / tar.gz artifacts. Two passes over the (already verified, immutable)
// archive: a scan that refuses anything unsafe before a single file is written, then extraction
// with the `tar` package in strict mode into a temp dir that is renamed into place whole.
// Refused (MODELPIN_E_ARCHIVE): absolute paths, `..` segments, symlinks whose target leaves the
// tree, hard links to absolute or `..` targets, paths that go through an earlier symlink, device
// files and FIFOs, more entries or more total bytes than the caps.
import { createReadStream } from 'node:fs';
import { realpath, rename, rm, stat } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { Parser, extract, type ReadEntry } from 'tar';
import { ModelpinError } from '../../src/errors.js';

import type { ArchiveLimits } from './limits.js';

export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './limits.js';

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

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
}

/** First pass: list every entry and refuse the archive at the first unsafe one. */
export async function scanArchive(file: string, limits: ArchiveLimits, describe = file): Promise<ScanResult> {
  const symlinks = new Set<string>();
  const files: string[] = [];
  let entries = 0;
  let bytes = 0;
  return new Promise<ScanResult>((resolve, reject) => {
    const input = createReadStream(file);
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      input.destroy();
      reject(e instanceof ModelpinError ? e : refuse(describe, `not a readable tar archive (${e.message})`, 'the artifact must be a .tar or .tar.gz file'));
    };
    const check = (entry: ReadEntry): void => {
      entries++;
      if (entries > limits.maxEntries) throw refuse(describe, `more than ${limits.maxEntries} entries`, 'raise MODELPIN_ARCHIVE_MAX_ENTRIES if the archive is legitimate');
      if (!ALLOWED.has(entry.type)) throw refuse(describe, `entry "${entry.path}" is a ${entry.type}; only files, directories and links are allowed`);
      const rel = safeRelative(entry.path);
      if (typeof rel !== 'string') throw refuse(describe, `entry "${entry.path}" has an unsafe path (${rel.unsafe})`);
      // Writing through a symlink that an earlier entry created is the classic escape.
      const segs = rel.split('/');
      for (let i = 1; i < segs.length; i++) {
        if (symlinks.has(segs.slice(0, i).join('/'))) throw refuse(describe, `entry "${entry.path}" goes through the symlink "${segs.slice(0, i).join('/')}"`);
      }
      if (entry.type === 'SymbolicLink') {
        const target = entry.linkpath ?? '';
        if (target === '' || target.startsWith('/')) throw refuse(describe, `symlink "${entry.path}" points to the absolute path "${target}"`);
        const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
        if (resolved === '..' || resolved.startsWith('../')) throw refuse(describe, `symlink "${entry.path}" → "${target}" escapes the archive`);
        symlinks.add(rel);
      }
      if (entry.type === 'Link') {
        const target = safeRelative(entry.linkpath ?? '');
        if (typeof target !== 'string' || target === '') throw refuse(describe, `hard link "${entry.path}" → "${entry.linkpath ?? ''}" escapes the archive`);
        const tsegs = target.split('/');
        for (let i = 1; i <= tsegs.length; i++) {
          if (symlinks.has(tsegs.slice(0, i).join('/'))) throw refuse(describe, `hard link "${entry.path}" targets "${target}" through a symlink`);
        }
      }
      if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
        bytes += entry.size;
        files.push(rel);
        if (bytes > limits.maxBytes) throw refuse(describe, `more than ${limits.maxBytes} bytes when extracted`, 'raise MODELPIN_ARCHIVE_MAX_BYTES if the archive is legitimate');
      }
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        try {
          check(entry);
        } catch (e) {
          fail(e as Error);
        }
        entry.resume();
      },
    });
    parser.on('error', (e: Error) => fail(e));
    parser.on('warn', (_code: string, msg: string) => fail(new Error(msg)));
    parser.on('end', () => {
      if (!failed) resolve({ entries, bytes, files });
    });
    input.on('error', (e) => fail(e));
    input.pipe(parser);
  });
}

/**
 * Extract `file` into `tmpDir`, check `entry` is a regular file inside, then rename to `dest`.
 * Returns `dest`. On any failure `tmpDir` is removed.
 */
export async function extractArchive(
  file: string,
  opts: { tmpDir: string; dest: string; entry: string; limits: ArchiveLimits; describe?: string },
): Promise<string> {
  const describe = opts.describe ?? file;
  const entry = safeRelative(opts.entry);
  if (typeof entry !== 'string' || entry === '') {
    throw new ModelpinError('MODELPIN_E_USAGE', `--entry "${opts.entry}" must be a relative path inside the archive`, { hint: 'e.g. --entry model.onnx' });
  }
  try {
    const scan = await scanArchive(file, opts.limits, describe);
    await extract({
      file,
      cwd: opts.tmpDir,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      // Defence in depth: the scan already refused these.
      filter: (_p, e) => 'type' in e && ALLOWED.has(e.type),
    });
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
      // Another process finished the same extraction first: identical content, use theirs.
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      await rm(opts.tmpDir, { recursive: true, force: true });
    }
    return opts.dest;
  } catch (e) {
    await rm(opts.tmpDir, { recursive: true, force: true }).catch(() => {});
    if (e instanceof ModelpinError) throw e;
    throw refuse(describe, `extraction failed: ${(e as Error).message}`);
  }
}

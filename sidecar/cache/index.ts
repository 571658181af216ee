// The content-addressed cache. Layout under the cache dir:
//   sha256/<hex>              a verified artifact (read-only); it only ever appears by rename(2)
//                             of a fully written, fsynced, verified temp file
//   extracted/<hex>/          a tar artifact's extracted tree, also renamed into place whole
//   signatures/<hex>.<keyfp>  marker: this digest's detached signature verified with that key
//   tmp/                      in-progress downloads and extractions (<hex>.<pid>.<pidns>.<rand>...)
// Anything under tmp/ is never trusted; a killed process leaves only tmp/ litter, which the next
// run sweeps (see sweepTemp for how it tells litter from another container's live download).
// How a cached entry is confirmed on reuse is a policy (see CacheVerify).
import { randomBytes } from 'node:crypto';
import { constants as fsc, readlinkSync } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelpinError } from '../../src/errors.js';
import type { Logger } from '../log.js';
import type { Sink } from '../fetch/download.js';

/**
 * How a cache hit is confirmed before use:
 * - 'rehash' (default): hash the bytes again on every start and evict the entry on mismatch
 *   (a plain artifact: the file, or with readModel the in-memory copy handed on; a tar: the
 *   archive, with the extracted tree compared against it entry by entry). About one SHA-256
 *   pass over the artifact.
 * - 'size': trust-on-rename. The entry exists only if it was verified before the rename, and it
 *   is read-only; we check it is a regular file and, when the expected size is known, that the
 *   size matches. Costs one stat(2), and trusts that nothing wrote the volume since: an opt-out
 *   for users who accept that risk.
 */
export type CacheVerify = 'size' | 'rehash';

export interface CacheLayout {
  root: string;
  blobs: string;
  extracted: string;
  signatures: string;
  tmp: string;
}

export function cacheLayout(root: string): CacheLayout {
  return { root, blobs: join(root, 'sha256'), extracted: join(root, 'extracted'), signatures: join(root, 'signatures'), tmp: join(root, 'tmp') };
}

export const blobPath = (c: CacheLayout, hex: string) => join(c.blobs, hex);
export const extractedPath = (c: CacheLayout, hex: string) => join(c.extracted, hex);

export function cacheError(what: string, e: unknown): ModelpinError {
  const code = (e as NodeJS.ErrnoException).code;
  return new ModelpinError('MODELPIN_E_CACHE', `${what}: ${code ?? (e instanceof Error ? e.message : String(e))}`, {
    hint: code === 'ENOSPC' || code === 'EDQUOT' ? 'the cache volume is full; give the cache emptyDir a larger sizeLimit' : 'check that --cache-dir exists, is writable and has space',
    cause: e,
  });
}

export async function ensureCache(c: CacheLayout): Promise<void> {
  for (const d of [c.blobs, c.extracted, c.signatures, c.tmp]) {
    try {
      await mkdir(d, { recursive: true });
    } catch (e) {
      throw cacheError(`cannot create cache directory ${d}`, e);
    }
  }
}

/** Size of a regular file, or undefined when absent. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cacheError(`cannot read cache entry ${path}`, e);
  }
}

// ---- temp entries, heartbeats and the sweep ------------------------------------------------
// Temp names carry the PID *and* the PID namespace: two containers sharing a cache volume have
// separate PID namespaces (each may be PID 1), so a PID alone says nothing about the other
// container's processes. Node has no flock(2), so liveness across namespaces is a heartbeat: a
// live owner touches its temp entry every HEARTBEAT_MS; the sweep removes entries from other
// namespaces only once their mtime is STALE_MS old. No lock file and no takeover protocol are
// needed because every temp entry is private to its writer (a random name); the only shared
// question is "is this leftover dead?", which the heartbeat answers without coordination.

/** How often a live owner refreshes the mtime of its temp entries. */
export const HEARTBEAT_MS = 5_000;
/** A temp entry from another namespace whose mtime is older than this has lost its owner. */
export const STALE_MS = 60_000;

let ownNamespace: string | undefined;
/** This process's PID namespace id (the inode of /proc/self/ns/pid), or 'x' if unknowable. */
export function pidNamespace(): string {
  if (ownNamespace === undefined) {
    try {
      ownNamespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? 'x';
    } catch {
      ownNamespace = 'x';
    }
  }
  return ownNamespace;
}

/** Temp entries this process is still working on (never swept by its own sweep). */
const ours = new Set<string>();

function tempName(hex: string, suffix: string): string {
  return `${hex}.${process.pid}.${pidNamespace()}.${randomBytes(6).toString('hex')}${suffix}`;
}

/** Mark `path` as ours and keep its mtime fresh until the returned function is called. */
function heartbeat(path: string): () => void {
  ours.add(path);
  const t = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {}); // gone (renamed or discarded): nothing to keep alive
  }, HEARTBEAT_MS);
  t.unref();
  return () => {
    clearInterval(t);
    ours.delete(path);
  };
}

/** A temp file in the cache's tmp dir that becomes `sha256/<hex>` only through commit(). */
export interface TempBlob extends Sink {
  readonly path: string;
  /** fsync, make read-only, rename into place, fsync the directory. */
  commit(): Promise<string>;
  /** Close and delete (digest mismatch, failure). Never throws. */
  discard(): Promise<void>;
}

const SYNC_EVERY = 64 * 1024 * 1024;

export async function createTempBlob(c: CacheLayout, hex: string): Promise<TempBlob> {
  const path = join(c.tmp, tempName(hex, '.part'));
  let fh: FileHandle;
  try {
    fh = await open(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_RDWR, 0o600);
  } catch (e) {
    throw cacheError(`cannot create a temp file in ${c.tmp}`, e);
  }
  const stopHeartbeat = heartbeat(path);
  let closed = false;
  // Background writeback: start a datasync every SYNC_EVERY bytes so the disk works while the
  // network does, instead of the kernel holding a whole GiB of dirty pages for the final fsync.
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  const kickSync = () => {
    if (syncing || unsynced < SYNC_EVERY) return;
    unsynced = 0;
    syncing = fh.datasync().then(
      () => void (syncing = undefined),
      () => void (syncing = undefined), // the final fsync in commit() reports real errors
    );
  };
  const close = async () => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  return {
    path,
    async write(chunks, position) {
      try {
        let pos = position;
        // writev may write partially; loop until every chunk is on disk.
        let pending = chunks;
        while (pending.length > 0) {
          const { bytesWritten } = await fh.writev(pending, pos);
          pos += bytesWritten;
          pending = dropBytes(pending, bytesWritten);
          unsynced += bytesWritten;
        }
        kickSync();
      } catch (e) {
        throw cacheError(`cannot write ${path}`, e);
      }
    },
    async reset() {
      try {
        await fh.truncate(0);
      } catch (e) {
        throw cacheError(`cannot truncate ${path}`, e);
      }
    },
    async commit() {
      const dest = blobPath(c, hex);
      try {
        // Data must be durable before the name that says "verified" points at it; otherwise a
        // crash after rename could leave a trusted name over a hole-filled file.
        await syncing;
        await fh.sync();
        await close();
        await chmod(path, 0o444);
        await rename(path, dest);
        await fsyncDir(c.blobs);
      } catch (e) {
        await rm(path, { force: true }).catch(() => {});
        throw cacheError(`cannot move the verified artifact into ${dest}`, e);
      } finally {
        stopHeartbeat();
      }
      return dest;
    },
    async discard() {
      stopHeartbeat();
      await syncing;
      await close().catch(() => {});
      await rm(path, { force: true }).catch(() => {});
    },
  };
}

function dropBytes(chunks: Uint8Array[], n: number): Uint8Array[] {
  let rest = n;
  const out: Uint8Array[] = [];
  for (const ch of chunks) {
    if (rest >= ch.byteLength) {
      rest -= ch.byteLength;
      continue;
    }
    out.push(rest > 0 ? ch.subarray(rest) : ch);
    rest = 0;
  }
  return out;
}

export async function fsyncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch (e) {
    // Some filesystems refuse fsync on directories (EINVAL); the rename is still atomic.
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    await d.close();
  }
}

export interface TempDir {
  readonly path: string;
  /** Stop the heartbeat (the directory was renamed into place or removed). */
  release(): void;
}

/** A fresh temp directory for an extraction (renamed into extracted/<hex> when complete). */
export async function createTempDir(c: CacheLayout, hex: string): Promise<TempDir> {
  const path = join(c.tmp, tempName(hex, '.dir'));
  try {
    await mkdir(path, { mode: 0o755 });
  } catch (e) {
    throw cacheError(`cannot create a temp directory in ${c.tmp}`, e);
  }
  return { path, release: heartbeat(path) };
}

/**
 * Remove leftovers of killed runs. An entry is litter when
 * - it was made in our PID namespace by a process that is gone (immediate), or by this very
 *   process and is no longer in use; or
 * - it comes from another (or an unknown) PID namespace and its heartbeat stopped: mtime older
 *   than STALE_MS. A download in another container keeps its mtime fresh and is left alone.
 * Never fails the fetch.
 */
export async function sweepTemp(c: CacheLayout, log: Logger, now = Date.now()): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(c.tmp);
  } catch {
    return 0;
  }
  const ns = pidNamespace();
  for (const name of names) {
    const p = join(c.tmp, name);
    if (ours.has(p)) continue;
    const m = /^[0-9a-f]{64}\.(\d+)\.(\d+|x)\./.exec(name);
    let stale: boolean;
    if (m && ns !== 'x' && m[2] === ns) {
      const pid = Number(m[1]);
      stale = pid === process.pid || !alive(pid);
    } else {
      try {
        stale = now - (await stat(p)).mtimeMs > STALE_MS;
      } catch {
        continue;
      }
    }
    if (!stale) continue;
    try {
      await rm(p, { recursive: true, force: true });
      removed++;
    } catch (e) {
      log.warn('could not remove stale temp entry', { path: p, error: (e as Error).message });
    }
  }
  if (removed > 0) log.info('removed leftovers of interrupted fetches', { count: removed });
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Atomically write a small file (signature markers). */
export async function writeAtomic(c: CacheLayout, dest: string, data: string): Promise<void> {
  const tmp = join(c.tmp, tempName('0'.repeat(64), '.marker'));
  ours.add(tmp); // short-lived: no heartbeat, but our own sweep must not take it
  try {
    const fh = await open(tmp, 'w', 0o444);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw cacheError(`cannot write ${dest}`, e);
  } finally {
    ours.delete(tmp);
  }
}

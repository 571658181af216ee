// SHA-256 of a file: the check every cache hit pays by default, so it is written for speed. The
// next read is issued before the current chunk is hashed, so the disk (or page cache) and the
// hash overlap and a pass costs about max(read, SHA-256) rather than their sum.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Read size per step: large enough that syscalls are noise, small enough to stay in L2/L3-ish. */
const CHUNK = 8 << 20;

export interface HashedFile {
  hex: string;
  bytes: number;
}

/** SHA-256 of the file at `path`, constant memory (two chunk buffers). */
export async function sha256File(path: string, opts: { signal?: AbortSignal } = {}): Promise<HashedFile> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
    let pos = 0;
    let i = 0;
    let next = fh.read(bufs[0], 0, CHUNK, 0);
    for (;;) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const cur = bufs[i]!;
      pos += bytesRead;
      i ^= 1;
      next = fh.read(bufs[i]!, 0, CHUNK, pos);
      h.update(cur.subarray(0, bytesRead));
    }
    return { hex: h.digest('hex'), bytes: pos };
  } finally {
    await fh.close();
  }
}

export interface ReadFile {
  /** SHA-256 of exactly `data` (absent when hashing was not asked for). */
  hex?: string;
  /** The whole file, in an ArrayBuffer of exactly its size (transferable to a worker thread). */
  data: Uint8Array;
}

/**
 * Read the whole file once into memory and (by default) hash those bytes in
 * memory, so the digest describes exactly the buffer handed on, whatever happens to the file
 * afterwards. A file that grows or shrinks while it is read is reported as `changed`.
 */
export async function readWholeFile(path: string, opts: { hash?: boolean; signal?: AbortSignal } = {}): Promise<ReadFile | { changed: string }> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const data = new Uint8Array(size);
    const h = opts.hash === false ? undefined : createHash('sha256');
    let pos = 0;
    let next = size > 0 ? fh.read(data, 0, Math.min(CHUNK, size), 0) : undefined;
    while (next !== undefined) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await next;
      if (bytesRead === 0) return { changed: `it shrank to ${pos} bytes while being read (stat said ${size})` };
      const start = pos;
      pos += bytesRead;
      next = pos < size ? fh.read(data, pos, Math.min(CHUNK, size - pos), pos) : undefined;
      h?.update(data.subarray(start, pos));
    }
    const extra = await fh.read(Buffer.alloc(1), 0, 1, size);
    if (extra.bytesRead > 0) return { changed: `it grew past ${size} bytes while being read` };
    return h ? { hex: h.digest('hex'), data } : { data };
  } finally {
    await fh.close();
  }
}

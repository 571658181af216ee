// The download engine: one pass over the bytes, hashed in order, written to a sink, with
// retries that resume from the byte already received. Memory is bounded whatever the size: the
// sequential path holds ≤ MAX_PENDING_WRITES batches of 1 MiB, the parallel path additionally a
// backlog of at most BACKLOG_PARTS parts for the ranges ahead of the one being hashed.
import { createHash, type Hash } from 'node:crypto';
import { ModelpinError } from '../../src/errors.js';
import type { Logger } from '../log.js';
import { isAbortError } from '../sources/net-errors.js';
import { RetryableError, type Opened, type Source } from '../sources/types.js';
import { scope } from './deadline.js';
import type { Keeper } from './keep.js';
import { backoff, type RetryPolicy } from './retry.js';

/** Where downloaded bytes go; `position` is the byte offset in the artifact. */
export interface Sink {
  write(chunks: Uint8Array[], position: number): Promise<void>;
  /** Forget everything written (the server ignored a range: start over). */
  reset(): Promise<void>;
}

export interface DownloadOptions {
  /** Aborts everything; already combined with the total time budget by the caller. */
  signal: AbortSignal;
  retry: RetryPolicy;
  log: Logger;
  sink?: Sink;
  /** Refuse artifacts larger than this (Content-Length / object size first, running count too). */
  maxBytes?: number;
  /** Parallel ranged GETs for sources that support them (the S3 path). */
  partSize: number;
  concurrency: number;
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Also keep the bytes in memory; the engine then hashes the kept copy (see keep.ts). */
  keep?: Keeper;
}

export interface DownloadResult {
  hex: string;
  bytes: number;
}

const WRITE_BATCH = 1 << 20;
/** Positional writes in flight at once: the socket keeps being read while the disk catches up. */
const MAX_PENDING_WRITES = 4;

/**
 * Bounded pipelining of positional writes (disjoint ranges, so order does not matter).
 * `write` resolves once there is room for another; `drain` waits for all and surfaces errors.
 */
class WriteQueue {
  private pending: Promise<void>[] = [];
  private failed: unknown;
  constructor(private readonly sink: Sink | undefined) {}
  async write(chunks: Uint8Array[], position: number): Promise<void> {
    if (!this.sink) return;
    const p = this.sink.write(chunks, position).catch((e: unknown) => {
      this.failed ??= e;
    });
    this.pending.push(p);
    if (this.pending.length >= MAX_PENDING_WRITES) await this.pending.shift();
    if (this.failed !== undefined) throw this.failed;
  }
  async drain(): Promise<void> {
    const all = this.pending;
    this.pending = [];
    await Promise.all(all);
    if (this.failed !== undefined) throw this.failed;
  }
}

export async function download(source: Source, opts: DownloadOptions): Promise<DownloadResult> {
  const st = await withRetries(opts, source.describe, () => source.stat(opts.signal));
  if (st.size !== undefined) {
    checkSize(st.size, opts.maxBytes, source.describe, 'before downloading');
    opts.keep?.reserve(st.size);
  }
  if (source.readRange && st.size !== undefined && opts.concurrency > 1 && st.size >= 2 * opts.partSize) {
    return parallel(source, st.size, opts);
  }
  return sequential(source, opts);
}

function checkSize(n: number, max: number | undefined, where: string, when: string): void {
  if (max !== undefined && n > max) {
    throw new ModelpinError('MODELPIN_E_SIZE_EXCEEDED', `${where} is larger than the allowed ${max} bytes (${n} bytes ${when})`, {
      hint: 'if the artifact really grew, update spec.model.size (--size) together with the digest',
    });
  }
}

/** Run `fn`, retrying RetryableErrors with backoff; permanent errors and aborts pass through. */
async function withRetries<T>(opts: DownloadOptions, describe: string, fn: () => Promise<T>): Promise<T> {
  for (let failures = 0; ; ) {
    try {
      return await fn();
    } catch (e) {
      failures = await onFailure(e, failures, opts, describe);
    }
  }
}

/** Decide what to do after a failure: rethrow, or back off and return the new failure count. */
async function onFailure(e: unknown, failures: number, opts: DownloadOptions, describe: string): Promise<number> {
  if (opts.signal.aborted) throw abortReason(opts.signal, describe, e);
  if (e instanceof ModelpinError) throw e;
  if (isAbortError(e)) throw e;
  // Anything else that escaped a body stream (socket closed, undici errors) is transient.
  const n = failures + 1;
  const msg = e instanceof Error ? e.message : String(e);
  if (n > opts.retry.retries) {
    throw new ModelpinError('MODELPIN_E_FETCH_NETWORK', `giving up on ${describe} after ${n} failed attempts: ${msg}`, {
      hint: 'the store keeps failing (5xx, resets, timeouts); check its health and the network path from the pod',
      cause: e,
    });
  }
  opts.log.warn('fetch attempt failed; retrying', { source: describe, attempt: n, error: msg });
  try {
    await backoff(n, opts.retry, opts.signal);
  } catch {
    throw abortReason(opts.signal, describe, e);
  }
  return n;
}

/**
 * Destroy `body` when `signal` aborts while it is being read, so that wait is bounded by the
 * signal even if the client library misses the abort (a wedged connection). Returns the detach.
 */
function destroyOnAbort(signal: AbortSignal, body: Opened): () => void {
  const stop = () => body.destroy();
  if (signal.aborted) {
    stop();
    return () => {};
  }
  signal.addEventListener('abort', stop, { once: true });
  return () => signal.removeEventListener('abort', stop);
}

function abortReason(signal: AbortSignal, describe: string, last: unknown): unknown {
  const r: unknown = signal.reason;
  if (r instanceof ModelpinError) return r;
  if (r instanceof Error && r.name === 'TimeoutError') {
    return new ModelpinError('MODELPIN_E_FETCH_NETWORK', `fetching ${describe} did not finish within the time limit${last instanceof Error ? ` (last error: ${last.message})` : ''}`, {
      hint: 'raise the total timeout or check why the download is slow',
    });
  }
  return r ?? last;
}

async function sequential(source: Source, opts: DownloadOptions): Promise<DownloadResult> {
  let hash: Hash = createHash('sha256');
  let received = 0;
  // Progress is bytes kept past the furthest point any attempt reached. A server that ignores
  // Range makes us restart from byte 0; re-receiving bytes we already had once is no progress,
  // so a server that truncates or resets every response cannot keep the retry count at zero.
  let highWater = 0;
  let total: number | undefined;
  let failures = 0;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let batchPos = 0;
  const writes = new WriteQueue(opts.sink);
  const flush = async () => {
    if (batchBytes === 0) return;
    const chunks = batch;
    batch = [];
    batchBytes = 0;
    await writes.write(chunks, batchPos);
  };
  for (;;) {
    let body: Opened | undefined;
    let detach: (() => void) | undefined;
    try {
      body = await source.open(received, opts.signal);
      detach = destroyOnAbort(opts.signal, body);
      if (body.start !== received) {
        if (body.start !== 0) throw new RetryableError(`${source.describe} returned bytes from ${body.start}, asked for ${received}`);
        // The server ignored our Range and sent everything: the hash must start over too.
        opts.log.warn('server ignored the range request; restarting the download', { source: source.describe, had: received });
        hash = createHash('sha256');
        received = 0;
        await writes.drain();
        await opts.sink?.reset();
        opts.keep?.reset();
      }
      if (body.totalSize !== undefined) {
        total = body.totalSize;
        checkSize(total, opts.maxBytes, source.describe, 'announced by the server');
        opts.keep?.reserve(total);
      }
      batchPos = received;
      for await (const chunk of body.body) {
        if (opts.maxBytes !== undefined && received + chunk.byteLength > opts.maxBytes) {
          checkSize(received + chunk.byteLength, opts.maxBytes, source.describe, 'received so far');
        }
        hash.update(opts.keep ? opts.keep.put(chunk, received) : chunk);
        batch.push(chunk);
        batchBytes += chunk.byteLength;
        received += chunk.byteLength;
        if (received > highWater) {
          highWater = received;
          failures = 0; // new bytes: the next failure starts a fresh backoff sequence
        }
        if (batchBytes >= WRITE_BATCH) {
          await flush();
          batchPos = received;
        }
        opts.onProgress?.(received, total);
      }
      await flush();
      await writes.drain();
      if (total !== undefined && received < total) {
        throw new RetryableError(`${source.describe}: connection ended after ${received} of ${total} bytes`);
      }
      detach();
      return { hex: hash.digest('hex'), bytes: received };
    } catch (e) {
      detach?.();
      body?.destroy();
      // Bytes already hashed must reach the sink, so a resume continues exactly after them.
      await flush();
      await writes.drain();
      failures = await onFailure(e, failures, opts, source.describe);
    }
  }
}

/** Parts' worth of bytes that parts ahead of the head may hold in memory. */
const BACKLOG_PARTS = 2;

/** Per-part state of the parallel path. */
interface PartState {
  /** Chunks received while the part was not yet the one being hashed (in order). */
  chunks: Uint8Array[];
  /** True once the part is the head and its backlog is drained: chunks are hashed on arrival. */
  live: boolean;
  done: Promise<void>;
}

/**
 * Parallel ranged GETs with one in-order SHA-256. The part at the head of the window streams
 * straight into the hash and the file; parts ahead of it keep their chunks until they become the
 * head. Nothing is copied (unless the caller keeps the bytes) and nothing is hashed out of order. The backlog is capped at
 * BACKLOG_PARTS × partSize: a part ahead that hits the cap stops reading (TCP backpressure)
 * until the head catches up, so memory stays bounded whatever the concurrency.
 */
async function parallel(source: Source, size: number, opts: DownloadOptions): Promise<DownloadResult> {
  const readRange = source.readRange!.bind(source);
  const hash = createHash('sha256');
  const parts = Math.ceil(size / opts.partSize);
  opts.log.debug('parallel ranged download', { source: source.describe, size, parts, partSize: opts.partSize, concurrency: opts.concurrency });
  // Stop sibling parts as soon as one fails for good, and report that failure (not the aborts).
  // A scope we hold, not AbortSignal.any: see deadline.ts.
  const ctl = scope([opts.signal]);
  const signal = ctl.signal;
  const partOpts: DownloadOptions = { ...opts, signal };
  let firstError: unknown;

  const writes = new WriteQueue(opts.sink);
  const budget = BACKLOG_PARTS * opts.partSize;
  let backlog = 0;
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  signal.addEventListener('abort', wake, { once: true });
  let hashed = 0;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let batchPos = 0;
  /** Hash one chunk of the head part and queue it for the file (in 1 MiB batches). */
  const consume = async (chunk: Uint8Array): Promise<void> => {
    hash.update(opts.keep ? opts.keep.put(chunk, hashed) : chunk);
    if (batchBytes === 0) batchPos = hashed;
    batch.push(chunk);
    batchBytes += chunk.byteLength;
    hashed += chunk.byteLength;
    opts.onProgress?.(hashed, size);
    if (batchBytes >= WRITE_BATCH) await flush();
  };
  const flush = async (): Promise<void> => {
    if (batchBytes === 0) return;
    const chunks = batch;
    batch = [];
    batchBytes = 0;
    await writes.write(chunks, batchPos);
  };

  async function fetchPart(i: number, st: PartState): Promise<void> {
    const start = i * opts.partSize;
    const end = Math.min(size, start + opts.partSize);
    // `got` only grows (a part resumes at start + got and refuses any other start), so every
    // chunk counted here is past the part's high-water mark: real progress.
    let got = 0;
    let failures = 0;
    for (;;) {
      let body: Opened | undefined;
      let detach: (() => void) | undefined;
      try {
        body = await readRange(start + got, end, signal);
        detach = destroyOnAbort(signal, body);
        if (body.start !== start + got) throw new RetryableError(`${source.describe} returned bytes from ${body.start}, asked for ${start + got}`);
        if (body.totalSize !== undefined && body.totalSize !== size) {
          throw new ModelpinError('MODELPIN_E_FETCH_NETWORK', `${source.describe} changed size during the download (${size} → ${body.totalSize})`, {
            hint: 'pin the object with ?versionId= so its bytes cannot change',
          });
        }
        for await (const chunk of body.body) {
          if (got + chunk.byteLength > end - start) throw new RetryableError(`${source.describe} sent more bytes than the range asked for`);
          got += chunk.byteLength;
          failures = 0;
          if (st.live) await consume(chunk);
          else {
            st.chunks.push(chunk);
            backlog += chunk.byteLength;
            while (!st.live && backlog > budget && !signal.aborted) await new Promise<void>((r) => waiters.push(r));
          }
        }
        if (got < end - start) throw new RetryableError(`${source.describe}: range ${start}-${end - 1} ended after ${got} bytes`);
        detach();
        return;
      } catch (e) {
        detach?.();
        body?.destroy();
        try {
          failures = await onFailure(e, failures, partOpts, source.describe);
        } catch (fatal) {
          firstError ??= fatal;
          ctl.abort();
          throw fatal;
        }
      }
    }
  }

  const states = new Map<number, PartState>();
  let next = 0;
  try {
    for (let i = 0; i < parts; i++) {
      // A bounded window: never more than `concurrency` parts downloading or holding a backlog.
      while (next < parts && next < i + opts.concurrency) {
        const st: PartState = { chunks: [], live: false, done: Promise.resolve() };
        st.done = fetchPart(next, st);
        st.done.catch(() => {}); // observed below, in order; avoid unhandled-rejection noise meanwhile
        states.set(next, st);
        next++;
      }
      const st = states.get(i)!;
      // Become the head: drain the backlog; `live` flips with the backlog empty and no await in
      // between, so chunks arriving from now on are hashed right after the ones before them.
      while (st.chunks.length > 0) {
        const chunk = st.chunks.shift()!;
        backlog -= chunk.byteLength;
        if (backlog <= budget) wake();
        await consume(chunk);
      }
      st.live = true;
      wake();
      await st.done;
      states.delete(i);
    }
    await flush();
    await writes.drain();
  } catch (e) {
    ctl.abort();
    throw firstError ?? e;
  } finally {
    ctl.dispose();
  }
  return { hex: hash.digest('hex'), bytes: hashed };
}

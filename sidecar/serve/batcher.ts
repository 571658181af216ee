// The request queue in front of the executors (ONNX Runtime sessions in worker threads), with
// dynamic batching. It only schedules: which requests run together, on which idle executor, and
// when. It is work-conserving: while an executor is idle, a request never waits on a timer unless
// several requests are already queued (under load) and --max-batch-delay-ms asks to hold a
// partial batch for more rows. A request runs at the next turn of the event loop, after every
// request that has already arrived has been read, together with those requests.
import { ModelpinError } from '../../src/errors.js';
import type { TensorData } from './datatypes.js';
import type { Executor, Feed, OutputTensor } from './executor.js';
import type { Signature } from './signature.js';

export interface BatcherOptions {
  /** Rows per run. */
  maxBatchSize: number;
  maxBatchDelayMs: number;
  /** Requests waiting beyond this are refused (MODELPIN_E_OVERLOADED). */
  maxQueue: number;
  /** Concatenate requests along dim 0 (only after the start-up check said it is sound, or forced). */
  batching: boolean;
}

/** What the queue needs to know of a decoded request. */
export interface QueuedRequest {
  /** Inputs in the model's input order. */
  inputs: Feed[];
  /** Size of the shared leading dimension (rows), for batching. */
  rows: number;
  /** Requests batch only with equal keys (the non-leading dims of every input, when not all fixed). */
  key: string;
}

export interface RunStats {
  queueSeconds: number;
  computeSeconds: number;
  rows: number;
}

export interface RunResult {
  outputs: OutputTensor[];
  stats: RunStats;
}

/** Called exactly once per request: with an error, or with the result. */
export type Done = (err: unknown, result?: RunResult) => void;

interface Pending {
  req: QueuedRequest;
  enqueued: number;
  done: Done;
}

export interface BatchObserver {
  (rows: number, computeSeconds: number): void;
}

/** Time and timers, injectable so the scheduling can be tested without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
  /** Run fn after the requests that have already arrived are read (setImmediate). */
  soon(fn: () => void): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  soon: (fn) => setImmediate(fn),
};

// Callbacks instead of one Promise per request: no allocation and no microtask hop per request on
// the hot path; and one request's callback failing must not stop the others of its batch.
function settle(p: Pending, err: unknown, result?: RunResult): void {
  try {
    p.done(err, result);
  } catch {
    /* the callback owns its errors; a throw here must not affect the rest of the batch */
  }
}

export class Batcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private readonly idle: Executor[];
  private scheduled = false;
  private timer: unknown;
  private readonly flushCb = () => {
    this.scheduled = false;
    this.flush();
  };
  private readonly timerCb = () => {
    this.timer = undefined;
    this.flush(true);
  };

  constructor(
    private readonly sig: Signature,
    private readonly executors: readonly Executor[],
    private readonly opts: BatcherOptions,
    private readonly onBatch: BatchObserver = () => {},
    private readonly clock: Clock = realClock,
  ) {
    this.idle = [...executors];
  }

  /** Requests waiting for an executor. */
  get depth(): number {
    return this.queue.length;
  }

  /** Executors running a batch right now. */
  get busy(): number {
    return this.executors.length - this.idle.length;
  }

  /** Queue a request; `done` gets MODELPIN_E_OVERLOADED at once when the queue is full. */
  enqueue(req: QueuedRequest, done: Done): void {
    if (this.queue.length >= this.opts.maxQueue) {
      done(overloaded(this.queue.length, this.opts.maxQueue));
      return;
    }
    this.queue.push({ req, enqueued: this.clock.now(), done });
    this.queuedRows += req.rows;
    if (this.timer !== undefined && this.queuedRows >= this.opts.maxBatchSize) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.idle.length === 0 || this.timer !== undefined) return;
    this.scheduled = true;
    this.clock.soon(this.flushCb);
  }

  private flush(timerFired = false): void {
    const { batching, maxBatchSize, maxBatchDelayMs } = this.opts;
    while (this.idle.length > 0 && this.queue.length > 0) {
      if (batching && maxBatchDelayMs > 0 && !timerFired && this.queue.length > 1 && this.queuedRows < maxBatchSize) {
        const waited = this.clock.now() - this.queue[0]!.enqueued;
        if (waited < maxBatchDelayMs) {
          this.timer = this.clock.setTimeout(this.timerCb, maxBatchDelayMs - waited);
          return;
        }
      }
      timerFired = false;
      let batch: Pending[];
      if (batching) batch = this.take();
      else {
        batch = [this.queue.shift()!];
        this.queuedRows -= batch[0]!.req.rows;
      }
      const executor = this.idle.pop()!;
      void this.execute(batch, executor).finally(() => {
        this.idle.push(executor);
        if (this.queue.length > 0) this.kick();
      });
    }
  }

  /** The oldest request plus later ones with the same trailing dims, up to maxBatchSize rows. */
  private take(): Pending[] {
    const first = this.queue[0]!;
    let rows = first.req.rows;
    const key = first.req.key;
    const max = this.opts.maxBatchSize;
    let n = 1;
    const q = this.queue;
    // Fast path: take a prefix of compatible requests (the usual case: all keys equal).
    while (n < q.length && q[n]!.req.key === key && rows + q[n]!.req.rows <= max) rows += q[n++]!.req.rows;
    let batch: Pending[];
    if (n === q.length || q[n]!.req.key === key) {
      batch = q.splice(0, n);
    } else {
      // Mixed shapes: skip incompatible requests (they keep their place) and keep filling.
      batch = q.slice(0, n);
      const rest: Pending[] = [];
      for (let i = n; i < q.length; i++) {
        const p = q[i]!;
        if (p.req.key === key && rows + p.req.rows <= max) {
          batch.push(p);
          rows += p.req.rows;
        } else rest.push(p);
      }
      this.queue = rest;
    }
    this.queuedRows -= rows;
    return batch;
  }

  private async execute(batch: Pending[], executor: Executor): Promise<void> {
    const now = () => this.clock.now();
    const started = now();
    const stats = (p: Pending, end: number, rows: number): RunStats => ({ queueSeconds: (started - p.enqueued) / 1000, computeSeconds: (end - started) / 1000, rows });
    try {
      if (batch.length === 1) {
        const p = batch[0]!;
        const outputs = await executor.run(owned(p.req.inputs));
        const end = now();
        this.onBatch(p.req.rows, (end - started) / 1000);
        settle(p, null, { outputs, stats: stats(p, end, p.req.rows) });
        return;
      }
      const total = batch.reduce((a, p) => a + p.req.rows, 0);
      const outputs = await executor.run(this.concat(batch, total));
      const end = now();
      if (outputs.some((o) => o.dims[0] !== total)) {
        // An output's leading dimension is not the batch after all (the start-up check passed on
        // other data): answer each request alone, never a wrong slice.
        for (const p of batch) {
          try {
            const outs = await executor.run(owned(p.req.inputs));
            settle(p, null, { outputs: outs, stats: stats(p, now(), p.req.rows) });
          } catch (err) {
            settle(p, err);
          }
        }
        return;
      }
      this.onBatch(total, (end - started) / 1000);
      let offset = 0;
      for (const p of batch) {
        const r = p.req.rows;
        settle(p, null, { outputs: outputs.map((o) => slice(o, offset, r)), stats: stats(p, end, total) });
        offset += r;
      }
    } catch (err) {
      for (const p of batch) settle(p, err);
    }
  }

  /** The batch's inputs stacked along dim 0, in fresh buffers the executor may take over. */
  private concat(batch: Pending[], total: number): Feed[] {
    return this.sig.inputs.map((spec, i) => {
      const dims = batch[0]!.req.inputs[i]!.dims.slice();
      dims[0] = total;
      if (!spec.type.array) {
        const out: string[] = [];
        for (const p of batch) for (const s of p.req.inputs[i]!.data as string[]) out.push(s);
        return { data: out, dims };
      }
      let len = 0;
      for (const p of batch) len += p.req.inputs[i]!.data.length;
      const out = new spec.type.array(len);
      let off = 0;
      for (const p of batch) {
        const d = p.req.inputs[i]!.data as Float32Array;
        (out as Float32Array).set(d, off);
        off += d.length;
      }
      return { data: out, dims };
    });
  }
}

/**
 * Feeds that own their buffers whole. Request tensors may be views on shared slabs (slab.ts);
 * transferring one to a worker would detach its neighbours, so those are copied (small).
 */
function owned(feeds: Feed[]): Feed[] {
  return feeds.map((f) => {
    const d = f.data;
    if (Array.isArray(d) || (d.byteOffset === 0 && d.byteLength === d.buffer.byteLength)) return f;
    return { data: d.slice() as TensorData, dims: f.dims };
  });
}

function slice(o: OutputTensor, row: number, rows: number): OutputTensor {
  const total = o.dims[0]!;
  const per = total === 0 ? 0 : o.data.length / total;
  const dims = o.dims.slice();
  dims[0] = rows;
  const data = Array.isArray(o.data) ? o.data.slice(row * per, (row + rows) * per) : (o.data as Float32Array).subarray(row * per, (row + rows) * per);
  return { data: data as TensorData, dims };
}

export function overloaded(queued: number, maxQueue: number): ModelpinError {
  return new ModelpinError('MODELPIN_E_OVERLOADED', `server overloaded: ${queued} requests already queued (--max-queue ${maxQueue}); retry later`);
}

// The request queue in front of the ONNX Runtime session, with dynamic batching.
//
// onnxruntime-node runs inference synchronously on the main thread (in a setImmediate), so one run
// at a time is all a process can do; while it runs, new requests pile up in the socket buffers
// and are parsed right after. The batcher is work-conserving: a request never waits on a timer
// while the session is idle and nothing else is queued. It runs at the next turn of the event
// loop — after every request that has already arrived has been read — together with those
// requests. Requests that arrive while a run is in flight form the next batch. With
// --max-batch-delay-ms > 0 and several requests queued (i.e. under load), the batcher may hold a
// partial batch until it has max-batch-size rows or its oldest request has waited that long.
import type { Tensor } from 'onnxruntime-node';
import { HttpError, type DecodedRequest, type OutputTensor } from './codec.js';
import type { TensorData } from './datatypes.js';
import { fromOrtTensor, toOrtTensor, type LoadedModel } from './model.js';
import { float32Array } from './slab.js';

export interface BatcherOptions {
  /** Rows per run; 1 (or a model that cannot be batched) runs requests one by one. */
  maxBatchSize: number;
  maxBatchDelayMs: number;
  /** Requests waiting beyond this are refused with 503 + Retry-After. */
  maxQueue: number;
  batching: boolean;
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
  req: DecodedRequest;
  enqueued: number;
  done: Done;
}

// Callbacks instead of one Promise per request: no allocation and no microtask hop per request on
// the hot path; and one request's callback failing must not stop the others of its batch.
function settle(p: Pending, err: unknown, result?: RunResult): void {
  try {
    p.done(err, result);
  } catch {
    /* the callback owns its errors; a throw here must not affect the rest of the batch */
  }
}

export interface BatchObserver {
  (rows: number, computeSeconds: number): void;
}

const now = (): number => performance.now();

export class Batcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private running = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushCb = () => {
    this.scheduled = false;
    this.flush();
  };
  private readonly timerCb = () => {
    this.timer = undefined;
    this.flush(true);
  };

  constructor(
    private readonly model: LoadedModel,
    private readonly opts: BatcherOptions,
    private readonly onBatch: BatchObserver = () => {},
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  /** Queue a decoded request; `done` gets a 503 HttpError at once when the queue is full. */
  enqueue(req: DecodedRequest, done: Done): void {
    if (this.queue.length >= this.opts.maxQueue) {
      done(
        new HttpError(503, `server overloaded: ${this.queue.length} requests already queued (--max-queue ${this.opts.maxQueue}); retry later`, {
          'Retry-After': '1',
        }),
      );
      return;
    }
    this.queue.push({ req, enqueued: now(), done });
    this.queuedRows += req.rows;
    if (this.timer !== undefined && this.queuedRows >= this.opts.maxBatchSize) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.kick();
  }

  /** Promise form of enqueue. */
  submit(req: DecodedRequest): Promise<RunResult> {
    return new Promise((resolve, reject) => this.enqueue(req, (err, r) => (err === undefined || err === null ? resolve(r!) : reject(err))));
  }

  private kick(): void {
    if (this.scheduled || this.running || this.timer !== undefined) return;
    this.scheduled = true;
    setImmediate(this.flushCb);
  }

  private flush(timerFired = false): void {
    if (this.running || this.queue.length === 0) return;
    const { batching, maxBatchSize, maxBatchDelayMs } = this.opts;
    if (batching && maxBatchDelayMs > 0 && !timerFired && this.queue.length > 1 && this.queuedRows < maxBatchSize) {
      const waited = now() - this.queue[0]!.enqueued;
      if (waited < maxBatchDelayMs) {
        this.timer = setTimeout(this.timerCb, maxBatchDelayMs - waited);
        return;
      }
    }
    const batch = batching ? this.take() : [this.queue.shift()!];
    if (!batching) this.queuedRows -= batch[0]!.req.rows;
    this.running = true;
    void this.execute(batch).finally(() => {
      this.running = false;
      if (this.queue.length > 0) this.kick();
    });
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

  private async execute(batch: Pending[]): Promise<void> {
    const started = now();
    try {
      if (batch.length === 1) {
        const p = batch[0]!;
        const outputs = await this.run(p.req.inputs);
        const end = now();
        const rows = this.opts.batching ? p.req.rows : 1;
        this.onBatch(rows, (end - started) / 1000);
        settle(p, null, { outputs, stats: { queueSeconds: (started - p.enqueued) / 1000, computeSeconds: (end - started) / 1000, rows } });
        return;
      }
      const outputs = await this.run(this.concat(batch));
      const end = now();
      const total = batch.reduce((a, p) => a + p.req.rows, 0);
      if (outputs.some((o) => o.dims[0] !== total)) {
        // The graph does not honour its declared batch dim after all: answer each request alone.
        for (const p of batch) {
          try {
            const outs = await this.run(p.req.inputs);
            settle(p, null, { outputs: outs, stats: { queueSeconds: (started - p.enqueued) / 1000, computeSeconds: (now() - started) / 1000, rows: p.req.rows } });
          } catch (err) {
            settle(p, err);
          }
        }
        return;
      }
      this.onBatch(total, (end - started) / 1000);
      const computeSeconds = (end - started) / 1000;
      let offset = 0;
      for (const p of batch) {
        const r = p.req.rows;
        settle(p, null, { outputs: outputs.map((o) => slice(o, offset, r)), stats: { computeSeconds, rows: total, queueSeconds: (started - p.enqueued) / 1000 } });
        offset += r;
      }
    } catch (err) {
      for (const p of batch) settle(p, err);
    }
  }

  private concat(batch: Pending[]): { data: TensorData; dims: number[] }[] {
    const inputs = this.model.inputs;
    const total = batch.reduce((a, p) => a + p.req.rows, 0);
    return inputs.map((spec, i) => {
      const dims = batch[0]!.req.inputs[i]!.dims.slice();
      dims[0] = total;
      if (!spec.type.array) {
        const out: string[] = [];
        for (const p of batch) for (const s of p.req.inputs[i]!.data as string[]) out.push(s);
        return { data: out, dims };
      }
      let len = 0;
      for (const p of batch) len += p.req.inputs[i]!.data.length;
      const out = spec.type.v2 === 'FP32' ? float32Array(len) : new spec.type.array(len);
      let off = 0;
      for (const p of batch) {
        const d = p.req.inputs[i]!.data as Float32Array;
        (out as Float32Array).set(d, off);
        off += d.length;
      }
      return { data: out, dims };
    });
  }

  private async run(inputs: { data: TensorData; dims: number[] }[]): Promise<OutputTensor[]> {
    const { model } = this;
    const feeds: Record<string, Tensor> = {};
    for (let i = 0; i < inputs.length; i++) {
      const spec = model.inputs[i]!;
      feeds[spec.name] = toOrtTensor(model.ort, spec, inputs[i]!.data, inputs[i]!.dims);
    }
    const result = await model.session.run(feeds);
    return model.outputs.map((spec) => {
      const t = result[spec.name]!;
      return { data: fromOrtTensor(t), dims: t.dims };
    });
  }
}

function slice(o: OutputTensor, row: number, rows: number): OutputTensor {
  const total = o.dims[0]!;
  const per = total === 0 ? 0 : o.data.length / total;
  const dims = o.dims.slice();
  dims[0] = rows;
  const data = Array.isArray(o.data)
    ? o.data.slice(row * per, (row + rows) * per)
    : (o.data as Float32Array).subarray(row * per, (row + rows) * per);
  return { data: data as TensorData, dims };
}

// The one request path behind every transport: state and readiness, model routing, admission
// (queue depth, request bytes held), the batching queue, metrics, statistics and drain. REST and
// gRPC only translate their wire into these calls and its coded errors back into their statuses
// (src/errors.ts WIRE_STATUS), so both answer the same mistake with the same message.
import { ModelpinError } from '../../src/errors.js';
import { quoteName } from '../../src/quote.js';
import type { Logger } from '../log.js';
import { overloaded, type Batcher, type RunResult } from './batcher.js';
import type { Protocol, ServeMetrics } from './metrics.js';
import { v2Metadata, type Signature } from './signature.js';
import type { DecodedRequest, RequestRules } from './validate.js';

export interface ServiceOptions {
  name: string;
  version?: string;
  serverVersion: string;
  maxQueue: number;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  maxRequestRows: number;
  /** Request body bytes held at once (being read, queued or running) beyond which requests get 503. */
  maxHeldBytes: number;
  metrics: ServeMetrics;
  log: Logger;
}

/** Why batching is on or off, as the log and the metadata say it. */
export interface BatchingDecision {
  enabled: boolean;
  /** Batching was forced by the user (spec.serving.batching.force / --batching-force). */
  forced?: boolean;
  /** Why it is off; or, when forced, what the check would have said. */
  reason?: string;
}

/** What the warm-up did (explicit samples, or generated ones), for the ready line and metadata. */
export interface WarmupReport {
  source: 'explicit' | 'auto' | 'none';
  samples: number;
  ms: number;
  /** The automatic warm-up failed (a warning, not an error): why. */
  skipped?: string;
}

export interface ReadyModel {
  signature: Signature;
  digest: string;
  batcher: Batcher;
  batching: BatchingDecision;
  warmup: WarmupReport;
  ortVersion: string;
  workers: number;
}

type State = 'starting' | 'ready' | 'draining';

/** Per-phase totals for the statistics endpoints (Triton's shape: count + nanoseconds). */
interface Stat {
  count: number;
  ns: number;
}

export class InferenceService {
  private state: State = 'starting';
  private detail = 'fetching and verifying the model artifact';
  private model: ReadyModel | undefined;
  private inflight = 0;
  private heldBytes = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly stats = { success: zero(), fail: zero(), queue: zero(), compute: zero(), inferences: 0, executions: 0, lastInference: 0 };
  rules: RequestRules;

  constructor(readonly opts: ServiceOptions) {
    this.rules = { batching: false, maxRows: opts.maxRequestRows, maxRowsSetting: `--max-request-rows ${opts.maxRequestRows}` };
  }

  get name(): string {
    return this.opts.name;
  }

  get version(): string | undefined {
    return this.opts.version;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isDraining(): boolean {
    return this.state === 'draining';
  }

  get signature(): Signature | undefined {
    return this.model?.signature;
  }

  setStartingDetail(detail: string): void {
    if (this.state === 'starting') this.detail = detail;
  }

  /** Start serving a loaded, verified, warmed-up model. */
  setReady(model: ReadyModel): void {
    if (this.state !== 'starting') return;
    this.model = model;
    this.rules = model.batching.enabled
      ? { batching: true, maxRows: this.opts.maxBatchSize, maxRowsSetting: `--max-batch-size ${this.opts.maxBatchSize}` }
      : { batching: false, maxRows: this.opts.maxRequestRows, maxRowsSetting: `--max-request-rows ${this.opts.maxRequestRows}` };
    this.opts.metrics.setModelInfo(model.digest);
    this.opts.metrics.ready.set(1);
    this.state = 'ready';
  }

  notReadyError(): ModelpinError {
    return this.state === 'draining'
      ? new ModelpinError('MODELPIN_E_NOT_READY', `model '${this.opts.name}' is not ready: the server is shutting down`)
      : new ModelpinError('MODELPIN_E_NOT_READY', `model '${this.opts.name}' is not ready: ${this.detail}`);
  }

  /** Readiness for health endpoints: undefined when ready, else why not. */
  notReadyReason(): string | undefined {
    return this.state === 'ready' ? undefined : this.state === 'draining' ? 'shutting down' : this.detail;
  }

  /** Is (name, version) this server's model? Throws MODELPIN_E_NOT_FOUND with what it serves. */
  checkModel(name: string, version: string | undefined): void {
    if (name !== this.opts.name) throw new ModelpinError('MODELPIN_E_NOT_FOUND', `unknown model ${quoteName(name)}; this server serves '${this.opts.name}'`);
    if (version !== undefined && version !== this.opts.version) {
      throw new ModelpinError(
        'MODELPIN_E_NOT_FOUND',
        this.opts.version === undefined
          ? `unknown version ${quoteName(version)} of model '${name}'; this server has no version configured (--model-version)`
          : `unknown version ${quoteName(version)} of model '${name}'; this server serves version '${this.opts.version}'`,
      );
    }
  }

  // --- admission ---------------------------------------------------------------------------

  /**
   * Admit an inference request before its body is read: overload must be cheap to answer. Counts
   * it in flight (drain waits for it) until `settle` is called, also on failure.
   */
  admit(): void {
    this.inflight++;
    this.opts.metrics.inflight.inc();
    if (this.state === 'starting' || !this.model) throw this.notReadyError();
    const depth = this.model.batcher.depth;
    if (depth >= this.opts.maxQueue) throw overloaded(depth, this.opts.maxQueue);
  }

  /** Count `bytes` of request body as held; throws MODELPIN_E_OVERLOADED beyond the bound (still counted: release them). */
  hold(bytes: number): void {
    this.heldBytes += bytes;
    if (this.heldBytes > this.opts.maxHeldBytes) throw this.overloadedBytes(this.heldBytes);
  }

  release(bytes: number): void {
    this.heldBytes -= bytes;
  }

  /** Refuse a body of `bytes` (its Content-Length) before reading it when it would not fit. */
  checkRoom(bytes: number): void {
    if (this.heldBytes + bytes > this.opts.maxHeldBytes) throw this.overloadedBytes(this.heldBytes + bytes);
  }

  private overloadedBytes(n: number): ModelpinError {
    return new ModelpinError('MODELPIN_E_OVERLOADED', `server overloaded: ${n} bytes of requests held (limit ${this.opts.maxHeldBytes}); retry later`);
  }

  /** The end of an admitted request, answered with `ok` (REST 200, gRPC OK) or not. */
  settle(ok: boolean, startedMs: number, protocol: Protocol = 'rest'): void {
    const m = this.opts.metrics;
    const r = m.requests[protocol];
    const ns = (performance.now() - startedMs) * 1e6;
    if (ok) {
      r.success.inc();
      add(this.stats.success, ns);
      this.stats.lastInference = Date.now();
    } else {
      r.failure.inc();
      add(this.stats.fail, ns);
    }
    r.duration.observe(ns / 1e9);
    m.inflight.dec();
    if (--this.inflight === 0 && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Queue a decoded request; `done` is called once, with a coded error or the outputs. */
  infer(req: DecodedRequest, done: (err: unknown, result?: RunResult) => void): void {
    const model = this.model;
    if (!model) return done(this.notReadyError());
    model.batcher.enqueue(req, (err, r) => {
      if (r) {
        this.opts.metrics.queueDuration.observe(r.stats.queueSeconds);
        add(this.stats.queue, r.stats.queueSeconds * 1e9);
      }
      done(err, r);
    });
  }

  /** Called by the batcher per ONNX Runtime run. */
  observeRun(rows: number, computeSeconds: number): void {
    this.opts.metrics.batchSize.observe(rows);
    this.opts.metrics.computeDuration.observe(computeSeconds);
    this.stats.executions++;
    this.stats.inferences += rows;
    add(this.stats.compute, computeSeconds * 1e9);
  }

  // --- descriptions ------------------------------------------------------------------------

  /** The V2 model metadata (GET /v2/models/{m}). */
  metadata(): Record<string, unknown> {
    const m = this.model;
    if (!m || this.state === 'starting') throw this.notReadyError();
    const b = m.batching;
    return {
      name: this.opts.name,
      ...(this.opts.version === undefined ? {} : { versions: [this.opts.version] }),
      platform: 'onnxruntime_onnx',
      inputs: m.signature.inputs.map(v2Metadata),
      outputs: m.signature.outputs.map(v2Metadata),
      // Not in the V2 schema; extra fields are allowed and clients ignore them.
      parameters: {
        digest: m.digest,
        dynamic_batching: b.enabled,
        ...(b.enabled ? { max_batch_size: this.opts.maxBatchSize, max_batch_delay_ms: this.opts.maxBatchDelayMs } : {}),
        ...(b.forced ? { dynamic_batching_forced: true } : {}),
        ...(b.reason !== undefined ? { [b.enabled ? 'dynamic_batching_check' : 'dynamic_batching_off_reason']: b.reason } : {}),
        ...(m.signature.omitted.length > 0
          ? { omitted_outputs: m.signature.omitted.map((o) => ({ name: o.name, reason: o.reason, hint: o.hint })) }
          : {}),
        warmup: { source: m.warmup.source, samples: m.warmup.samples, ms: Math.round(m.warmup.ms * 10) / 10, ...(m.warmup.skipped ? { skipped: m.warmup.skipped } : {}) },
        onnxruntime_version: m.ortVersion,
        workers: m.workers,
      },
    };
  }

  /** Triton's model configuration shape (GET /v2/models/{m}/config, gRPC ModelConfig). */
  config(): Record<string, unknown> {
    const m = this.model;
    if (!m || this.state === 'starting') throw this.notReadyError();
    const batching = m.batching.enabled;
    // Triton leaves the batch dimension out of dims when max_batch_size > 0.
    const dims = (shape: number[]) => (batching ? shape.slice(1) : shape);
    return {
      name: this.opts.name,
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      ...(this.opts.version === undefined ? {} : { version_policy: { specific: { versions: [this.opts.version] } } }),
      max_batch_size: batching ? this.opts.maxBatchSize : 0,
      input: m.signature.inputs.map((t) => ({ name: t.name, data_type: `TYPE_${tritonType(t.type.v2)}`, dims: dims(t.shape) })),
      output: m.signature.outputs.map((t) => ({ name: t.name, data_type: `TYPE_${tritonType(t.type.v2)}`, dims: dims(t.shape) })),
      ...(batching ? { dynamic_batching: { max_queue_delay_microseconds: this.opts.maxBatchDelayMs * 1000 } } : {}),
      instance_group: [{ count: m.workers, kind: 'KIND_CPU' }],
    };
  }

  /** Triton's statistics shape (GET /v2/models/{m}/stats, gRPC ModelStatistics). */
  statistics(): Record<string, unknown> {
    const s = this.stats;
    const d = (x: Stat) => ({ count: x.count, ns: Math.round(x.ns) });
    return {
      model_stats: [
        {
          name: this.opts.name,
          version: this.opts.version ?? '',
          last_inference: s.lastInference,
          inference_count: s.inferences,
          execution_count: s.executions,
          inference_stats: {
            success: d(s.success),
            fail: d(s.fail),
            queue: d(s.queue),
            compute_input: d(zero()),
            compute_infer: d(s.compute),
            compute_output: d(zero()),
            cache_hit: d(zero()),
            cache_miss: d(zero()),
          },
          batch_stats: [],
        },
      ],
    };
  }

  // --- drain --------------------------------------------------------------------------------

  /**
   * SIGTERM: not ready any more; keep answering for `delayMs` while Kubernetes takes the pod out
   * of the Service's endpoints; then `stopAccepting()` (the transports close their listeners) and
   * wait for the requests in flight. `timeoutMs` bounds the whole drain, delay included; resolves
   * false when it ran out with work in flight.
   */
  async drain(timeoutMs: number, delayMs: number, stopAccepting: () => void): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    this.state = 'draining';
    this.opts.metrics.ready.set(0);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, Math.min(delayMs, timeoutMs)));
    stopAccepting();
    const left = Math.max(0, deadline - performance.now());
    return new Promise<boolean>((resolve) => {
      if (this.inflight === 0) return resolve(true);
      const t = setTimeout(() => resolve(false), left);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Worker threads running a batch right now. */
  get busyWorkers(): number {
    return this.model?.batcher.busy ?? 0;
  }

  /** Requests admitted and not yet answered. */
  get inFlight(): number {
    return this.inflight;
  }
}

function zero(): Stat {
  return { count: 0, ns: 0 };
}

function add(s: Stat, ns: number): void {
  s.count++;
  s.ns += ns;
}

/** V2 datatype → Triton's TYPE_* suffix. */
function tritonType(v2: string): string {
  return v2 === 'BYTES' ? 'STRING' : v2;
}

// `modelpin serve` start-up and shutdown: listen at once (liveness answers, readiness says 503),
// fetch and verify the pinned artifact, start the inference workers on the verified bytes, warm
// them up, decide batching with the row-independence check, then report ready. What the sidecar
// guesses (generated warm-up inputs, batchability) may only turn an optimisation off; what the
// user states (explicit warm-up samples) is binding. SIGTERM turns readiness off, lets in-flight
// requests finish (bounded by --drain-timeout-seconds) and resolves, so the CLI can exit.
import { readFile } from 'node:fs/promises';
import { ModelpinError } from '../../src/errors.js';
import type { ServeConfig } from '../config.js';
import type { FetchOptions } from '../fetch/index.js';
import type { Logger } from '../log.js';
import { Batcher } from './batcher.js';
import { checkBatching, type CheckResult } from './batching-check.js';
import type { Executor } from './executor.js';
import { GrpcServer } from './grpc/server.js';
import { createMetrics } from './metrics.js';
import { planOptimized, type OptimizedPlan } from './optimized-cache.js';
import { RestServer } from './rest/server.js';
import { copyFeeds, generatedSample, parseWarmupSamples, type Sample } from './samples.js';
import { InferenceService, type BatchingDecision, type WarmupReport } from './service.js';
import type { Signature } from './signature.js';
import { startWorkers, type WorkerPool } from './worker-pool.js';

export type { ServeConfig } from '../config.js';

/** The part of FetchResult serve needs: the verified model, as bytes or as a file. */
export interface FetchedModel {
  modelFile: string;
  /** The model file's bytes, hashed in memory and equal to the pin (format onnx, with readModel). */
  modelBytes?: Uint8Array;
  digest: string;
  bytes: number;
  /** Bytes transferred by this fetch (0 on a cache hit). */
  downloadedBytes?: number;
  cached: boolean;
  durationMs: number;
}

/** fetchArtifact, or a stand-in in tests. */
export type FetchFn = (opts: FetchOptions & { readModel?: boolean }) => Promise<FetchedModel>;

export interface ServeHandle {
  service: InferenceService;
  port: number;
  /** The bound gRPC port; undefined when --grpc-port is 0 (off). */
  grpcPort?: number;
  /** Resolves when the model is ready; rejects (and the listeners close) if start-up fails. */
  ready: Promise<void>;
  /** Resolves if an inference worker dies while serving: the process cannot serve on. */
  died: Promise<Error>;
  /**
   * Resolves with true once drained (false if the drain timed out with work in flight).
   * `delay: false` skips --drain-delay-seconds (an interactive Ctrl-C has no load balancer to wait for).
   */
  shutdown(opts?: { delay?: boolean }): Promise<boolean>;
}

const MAX_WARMUP_FILE_BYTES = 64 * 1024 * 1024;
const SERVER_VERSION = '0.1.0';

/** Start serving; the caller decides what to do with signals. */
export async function startServe(cfg: ServeConfig, deps: { fetch: FetchFn; log: Logger; env?: NodeJS.ProcessEnv }): Promise<ServeHandle> {
  const t0 = performance.now();
  const log = deps.log.child({ model: cfg.name, ...(cfg.modelVersion === undefined ? {} : { version: cfg.modelVersion }) });
  const metrics = createMetrics(cfg.name, cfg.modelVersion ?? '');
  const service = new InferenceService({
    name: cfg.name,
    ...(cfg.modelVersion === undefined ? {} : { version: cfg.modelVersion }),
    serverVersion: SERVER_VERSION,
    maxQueue: cfg.maxQueue,
    maxBatchSize: cfg.maxBatchSize,
    maxBatchDelayMs: cfg.maxBatchDelayMs,
    maxRequestRows: cfg.maxRequestRows,
    // Room for a few maximal bodies, and at least 256 MiB for many small ones.
    maxHeldBytes: Math.max(4 * cfg.maxBodyBytes, 256 * 1024 * 1024),
    metrics,
    log,
  });
  const rest = new RestServer({ service, maxBodyBytes: cfg.maxBodyBytes, log, accessLog: cfg.accessLog || cfg.logLevel === 'debug' });
  const port = await rest.listen(cfg.port, cfg.host);
  log.info('listening', { port, host: cfg.host ?? '::', protocol: 'rest' });
  let grpc: GrpcServer | undefined;
  let grpcPort: number | undefined;
  if (cfg.grpcPort > 0) {
    grpc = new GrpcServer({ service, maxMessageBytes: cfg.maxBodyBytes, log, accessLog: cfg.accessLog || cfg.logLevel === 'debug' });
    try {
      grpcPort = await grpc.listen(cfg.grpcPort, cfg.host);
    } catch (err) {
      rest.closeAll();
      grpc.closeAll();
      throw err;
    }
    log.info('listening', { port: grpcPort, host: cfg.host ?? '::', protocol: 'grpc' });
  }
  const abort = new AbortController();
  let shuttingDown: Promise<boolean> | undefined;
  let pool: WorkerPool | undefined;
  let onDied!: (e: Error) => void;
  const died = new Promise<Error>((r) => (onDied = r));
  const fetchCommon = {
    cacheDir: cfg.cacheDir,
    ...(cfg.credentialsDir === undefined ? {} : { credentialsDir: cfg.credentialsDir }),
    ...(cfg.caFile === undefined ? {} : { caFile: cfg.caFile }),
    ...(deps.env === undefined ? {} : { env: deps.env }),
    log,
    signal: abort.signal,
  };

  const ready = (async () => {
    const fetched = await deps.fetch({
      ...fetchCommon,
      uri: cfg.uri,
      digest: cfg.digest,
      format: cfg.format,
      ...(cfg.entry === undefined ? {} : { entry: cfg.entry }),
      ...(cfg.size === undefined ? {} : { size: cfg.size }),
      ...(cfg.signatureUri === undefined ? {} : { signatureUri: cfg.signatureUri }),
      ...(cfg.publicKey === undefined ? {} : { publicKeyPath: cfg.publicKey }),
      readModel: true,
    });
    metrics.fetchBytes.inc(fetched.downloadedBytes ?? (fetched.cached ? 0 : fetched.bytes));
    metrics.fetchDuration.set(fetched.durationMs / 1000);
    const warmupText = await readWarmup(cfg, deps.fetch, fetchCommon);
    if (shuttingDown) return;
    service.setStartingDetail('loading the model into ONNX Runtime');
    const optimized = await optimizedPlan(cfg, fetched.digest, log);
    const common = {
      describe: fetched.modelFile,
      workers: cfg.workers,
      onFatal: (err: Error) => {
        log.error('an inference worker stopped; the server cannot serve on', { error: err.message });
        onDied(err);
      },
    };
    if (optimized?.kind === 'load') {
      // Already optimized: ONNX Runtime must not optimize it again.
      pool = await startWorkers({ ...common, model: { path: optimized.path }, ort: { ...cfg.ort, graphOptimizationLevel: 'disabled' } });
    } else {
      pool = await startWorkers({
        ...common,
        model: fetched.modelBytes ? { bytes: fetched.modelBytes } : { path: fetched.modelFile },
        ort: cfg.ort,
        ...(optimized ? { optimizedModelFilePath: optimized.tmp } : {}),
      }).catch(async (err: unknown) => {
        await optimized?.discard();
        throw err;
      });
      await optimized?.commit().catch((err: Error) => log.warn('could not save the optimized model in the cache', { error: err.message }));
    }
    const sessionSource = optimized?.kind === 'load' ? 'optimized-model cache' : 'verified artifact';
    const sig = pool.signature;
    for (const o of sig.omitted) log.warn('output left out: the Open Inference Protocol cannot carry it', { output: o.name, reason: o.reason, fix: o.hint });
    const explicit = warmupText ? parseWarmupSamples(warmupText.text, sig, warmupText.source) : [];
    service.setStartingDetail('warming up');
    const warmup = await warmUp(sig, pool.executors, explicit, cfg.warmup.auto, log);
    const batching = await decideBatching(cfg, sig, pool.executors[0]!, explicit, warmup, log);
    if (shuttingDown) return;
    const batcher = new Batcher(
      sig,
      pool.executors,
      { maxBatchSize: cfg.maxBatchSize, maxBatchDelayMs: cfg.maxBatchDelayMs, maxQueue: cfg.maxQueue, batching: batching.enabled },
      (rows, secs) => service.observeRun(rows, secs),
    );
    service.setReady({ signature: sig, digest: fetched.digest, batcher, batching, warmup, ortVersion: pool.ortVersion, workers: pool.executors.length });
    grpc?.healthChanged();
    log.info('ready', {
      port,
      ...(grpcPort === undefined ? {} : { grpcPort }),
      digest: fetched.digest,
      cached: fetched.cached,
      fetchMs: round(fetched.durationMs),
      sessionCreateMs: round(pool.sessionCreateMs),
      sessionFrom: sessionSource,
      warmupMs: round(warmup.ms),
      warmup: { source: warmup.source, samples: warmup.samples, ...(warmup.skipped ? { skipped: warmup.skipped } : {}) },
      readyMs: round(performance.now() - t0),
      workers: pool.executors.length,
      ortBinding: pool.syncBinding ? 'sync' : 'async',
      batching: batching.enabled,
      inputs: sig.inputs.map((t) => `${t.name}:${t.type.v2}[${t.shape.join(',')}]`),
      outputs: sig.outputs.map((t) => `${t.name}:${t.type.v2}[${t.shape.join(',')}]`),
    });
  })();
  ready.catch(() => {
    abort.abort();
    rest.closeAll();
    grpc?.closeAll();
    void pool?.close();
  });

  return {
    service,
    port,
    ...(grpcPort === undefined ? {} : { grpcPort }),
    ready,
    died,
    shutdown: (opts: { delay?: boolean } = {}) => {
      abort.abort();
      if (shuttingDown) return shuttingDown;
      const delayMs = opts.delay === false ? 0 : cfg.drainDelaySeconds * 1000;
      const deadline = performance.now() + cfg.drainTimeoutSeconds * 1000;
      const stopAccepting = () => {
        rest.stopAccepting();
        void grpc?.stopAccepting();
      };
      shuttingDown = service.drain(cfg.drainTimeoutSeconds * 1000, delayMs, stopAccepting).then(async (drained) => {
        rest.closeAll();
        // The last gRPC answers may still be leaving (HTTP/2 writes are asynchronous): give them
        // what is left of the drain bound (at most 2 s) before the connections are dropped.
        await grpc?.close(Math.min(2000, Math.max(0, deadline - performance.now())));
        if (drained) {
          // Idle workers stop at once; a busy one (only after a timeout) is left to the process exit.
          await pool?.close();
          // What was answered over the process's life: a client can check that none of its answers went missing.
          const r = metrics.requests;
          log.info('drained; exiting', { succeeded: { rest: r.rest.success.value, grpc: r.grpc.success.value }, failed: { rest: r.rest.failure.value, grpc: r.grpc.failure.value } });
        } else {
          log.error('drain timed out with requests still in flight', { drainTimeoutSeconds: cfg.drainTimeoutSeconds, inFlight: service.inFlight });
        }
        return drained;
      });
      // Draining from now on: Health.Watch streams hear NOT_SERVING at once.
      grpc?.healthChanged();
      return shuttingDown;
    },
  };
}

/** The optimized-model cache's plan, when it is on and applies (single-file models). */
async function optimizedPlan(cfg: ServeConfig, digest: string, log: Logger): Promise<OptimizedPlan | undefined> {
  if (!cfg.optimizedModelCache || cfg.ort.graphOptimizationLevel === 'disabled') return undefined;
  if (cfg.format !== 'onnx') {
    log.warn('the optimized-model cache applies to single-file models only (format onnx); loading as usual');
    return undefined;
  }
  return planOptimized(cfg.cacheDir, digest, cfg.ort, log);
}

async function readWarmup(
  cfg: ServeConfig,
  fetch: FetchFn,
  common: Omit<FetchOptions, 'uri' | 'digest'>,
): Promise<{ text: string; source: string } | undefined> {
  const { file, uri, digest } = cfg.warmup;
  let path: string;
  let source: string;
  if (file !== undefined) {
    path = file;
    source = file;
  } else if (uri !== undefined) {
    const got = await fetch({ ...common, uri, digest: digest!, size: MAX_WARMUP_FILE_BYTES });
    path = got.modelFile;
    source = uri;
  } else return undefined;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_WARMUP_FILE_BYTES) throw new Error(`larger than ${MAX_WARMUP_FILE_BYTES} bytes`);
    return { text: buf.toString('utf8'), source };
  } catch (err) {
    throw new ModelpinError('MODELPIN_E_WARMUP', `cannot read the warm-up samples ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'check the path in --warmup-file (spec.serving.warmup)',
    });
  }
}

/**
 * Run every explicit sample on every worker (each session warms up; a failure is binding: the
 * model does not turn ready), or one generated sample (best effort: a failure only warns).
 */
async function warmUp(sig: Signature, executors: readonly Executor[], explicit: Sample[], auto: boolean, log: Logger): Promise<WarmupReport> {
  const started = performance.now();
  if (explicit.length > 0) {
    for (const ex of executors) {
      for (const s of explicit) {
        try {
          await ex.run(copyFeeds(s.feeds));
        } catch (err) {
          throw new ModelpinError('MODELPIN_E_WARMUP', `${s.label} failed: ${(err as Error).message}`, {
            hint: 'fix the sample (or the model): an explicit warm-up sample must run, so a model that cannot answer it never turns ready',
          });
        }
      }
    }
    return { source: 'explicit', samples: explicit.length, ms: performance.now() - started };
  }
  if (!auto) return { source: 'none', samples: 0, ms: 0 };
  const sample = generatedSample(sig, 0);
  try {
    for (const ex of executors) await ex.run(copyFeeds(sample.feeds));
    return { source: 'auto', samples: 1, ms: performance.now() - started };
  } catch (err) {
    const skipped = `the generated input (dynamic dimensions 1) failed: ${(err as Error).message}`;
    log.warn('automatic warm-up failed; serving without it', {
      reason: skipped,
      fix: 'give a real sample in spec.serving.warmup (or --warmup-file): V2 request bodies the model accepts',
    });
    return { source: 'auto', samples: 0, ms: performance.now() - started, skipped };
  }
}

/** Batching only when asked for, and only when the row-independence check passes (or is forced). */
async function decideBatching(
  cfg: ServeConfig,
  sig: Signature,
  executor: Executor,
  explicit: Sample[],
  warmup: WarmupReport,
  log: Logger,
): Promise<BatchingDecision> {
  if (cfg.maxBatchSize <= 1) {
    const d = { enabled: false, reason: 'not requested (--max-batch-size is 1; set spec.serving.batching to turn it on)' };
    log.info('dynamic batching off', { reason: d.reason });
    return d;
  }
  const check: CheckResult =
    explicit.length === 0 && warmup.skipped
      ? { sound: undefined, reason: `the row-independence check has no usable sample (${warmup.skipped}); give warm-up samples` }
      : await checkBatching(sig, executor, explicit);
  let d: BatchingDecision;
  const structural = check.sound === false && check.structural === true;
  if (check.sound === true) d = { enabled: true, reason: check.detail };
  else if (cfg.batchingForce && !structural) {
    d = { enabled: true, forced: true, reason: `forced by the user; the check said: ${check.reason}` };
  } else d = { enabled: false, reason: check.reason };
  if (d.enabled) log.info(d.forced ? 'dynamic batching on: FORCED by --batching-force (spec.serving.batching.force)' : 'dynamic batching on', { maxBatchSize: cfg.maxBatchSize, maxBatchDelayMs: cfg.maxBatchDelayMs, check: d.reason });
  else log.warn('dynamic batching off for this model', { reason: d.reason, ...(cfg.batchingForce && structural ? { note: 'batching cannot be forced for a model without a dynamic batch dimension' } : {}) });
  return d;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

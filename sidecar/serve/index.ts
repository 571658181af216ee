// `modelpin serve` start-up and shutdown: listen at once (liveness answers, readiness says 503),
// fetch and verify the pinned artifact, create the ONNX Runtime session from the verified file
// only, warm it up, then report ready. SIGTERM turns readiness off, lets in-flight requests
// finish (bounded by --drain-timeout-seconds) and resolves, so the CLI can exit 0.
import type { FetchOptions } from '../fetch/index.js';
import type { Logger } from '../log.js';
import { createMetrics } from './metrics.js';
import { loadModel, warmUp } from './model.js';
import { InferenceServer } from './server.js';

export interface ServeConfig {
  uri: string;
  digest: string;
  format?: 'onnx' | 'tar';
  entry?: string;
  size?: number;
  name: string;
  modelVersion?: string;
  port: number;
  host?: string;
  cacheDir: string;
  credentialsDir?: string;
  caFile?: string;
  signatureUri?: string;
  publicKey?: string;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  maxQueue: number;
  threads?: number;
  interOpThreads?: number;
  maxBodyBytes: number;
  drainTimeoutSeconds: number;
  /** On SIGTERM, keep serving (unready) this long before closing the listener; part of the drain timeout. */
  drainDelaySeconds?: number;
}

/** The part of H-fetch's FetchResult serve needs: the verified .onnx file to load. */
export interface FetchedModel {
  modelFile: string;
  digest: string;
  bytes: number;
  /** Bytes transferred by this fetch (0 on a cache hit). */
  downloadedBytes?: number;
  cached: boolean;
  durationMs: number;
}

/** fetchArtifact, or a stand-in in tests. */
export type FetchFn = (opts: FetchOptions) => Promise<FetchedModel>;

export interface ServeHandle {
  server: InferenceServer;
  port: number;
  /** Resolves when the model is ready; rejects (and the server closes) if start-up fails. */
  ready: Promise<void>;
  /**
   * Resolves with true once drained (false if the drain timed out). `delay: false` skips
   * --drain-delay-seconds (an interactive Ctrl-C has no load balancer to wait for).
   */
  shutdown(opts?: { delay?: boolean }): Promise<boolean>;
}

/** Start serving; the caller decides what to do with signals (see installSignalHandlers). */
export async function startServe(cfg: ServeConfig, deps: { fetch: FetchFn; log: Logger; env?: NodeJS.ProcessEnv }): Promise<ServeHandle> {
  const t0 = performance.now();
  const log = deps.log.child({ model: cfg.name, ...(cfg.modelVersion === undefined ? {} : { version: cfg.modelVersion }) });
  const metrics = createMetrics(cfg.name, cfg.modelVersion ?? '');
  const server = new InferenceServer({
    name: cfg.name,
    ...(cfg.modelVersion === undefined ? {} : { version: cfg.modelVersion }),
    maxBodyBytes: cfg.maxBodyBytes,
    batch: { maxBatchSize: cfg.maxBatchSize, maxBatchDelayMs: cfg.maxBatchDelayMs, maxQueue: cfg.maxQueue },
    metrics,
    log,
  });
  const port = await server.listen(cfg.port, cfg.host);
  log.info('listening', { port, host: cfg.host ?? '::' });
  const abort = new AbortController();
  let shuttingDown: Promise<boolean> | undefined;

  const ready = (async () => {
    const fetched = await deps.fetch({
      uri: cfg.uri,
      digest: cfg.digest,
      cacheDir: cfg.cacheDir,
      ...(cfg.format === undefined ? {} : { format: cfg.format }),
      ...(cfg.entry === undefined ? {} : { entry: cfg.entry }),
      ...(cfg.size === undefined ? {} : { size: cfg.size }),
      ...(cfg.credentialsDir === undefined ? {} : { credentialsDir: cfg.credentialsDir }),
      ...(cfg.caFile === undefined ? {} : { caFile: cfg.caFile }),
      ...(cfg.signatureUri === undefined ? {} : { signatureUri: cfg.signatureUri }),
      ...(cfg.publicKey === undefined ? {} : { publicKeyPath: cfg.publicKey }),
      ...(deps.env === undefined ? {} : { env: deps.env }),
      log,
      signal: abort.signal,
    });
    metrics.fetchBytes.inc(fetched.downloadedBytes ?? (fetched.cached ? 0 : fetched.bytes));
    metrics.fetchDuration.set(fetched.durationMs / 1000);
    server.setStartingDetail('loading the model into ONNX Runtime');
    const model = await loadModel(fetched.modelFile, {
      ...(cfg.threads === undefined ? {} : { threads: cfg.threads }),
      ...(cfg.interOpThreads === undefined ? {} : { interOpThreads: cfg.interOpThreads }),
    });
    server.setStartingDetail('warming up');
    const warmupMs = await warmUp(model);
    if (shuttingDown) return;
    server.setReady(model, fetched.digest);
    log.info('ready', {
      port,
      digest: fetched.digest,
      cached: fetched.cached,
      fetchMs: round(fetched.durationMs),
      sessionCreateMs: round(model.sessionCreateMs),
      warmupMs: round(warmupMs),
      readyMs: round(performance.now() - t0),
      inputs: model.inputs.map((t) => `${t.name}:${t.type.v2}[${t.shape.join(',')}]`),
      outputs: model.outputs.map((t) => `${t.name}:${t.type.v2}[${t.shape.join(',')}]`),
    });
  })();
  ready.catch(() => {
    abort.abort();
    server.http.close();
    server.http.closeAllConnections();
  });

  return {
    server,
    port,
    ready,
    shutdown: (opts: { delay?: boolean } = {}) => {
      abort.abort();
      const delayMs = opts.delay === false ? 0 : (cfg.drainDelaySeconds ?? 0) * 1000;
      shuttingDown ??= server.drain(cfg.drainTimeoutSeconds * 1000, delayMs).then((drained) => {
        if (drained) log.info('drained; exiting');
        else log.error('drain timed out with requests still in flight', { drainTimeoutSeconds: cfg.drainTimeoutSeconds });
        return drained;
      });
      return shuttingDown;
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

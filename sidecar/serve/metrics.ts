// Prometheus metrics with the exact names the rendered canary AnalysisTemplate queries (see the
// shared contract in the README); a per-server Registry so tests can run several servers at once.
import client from 'prom-client';

export interface ServeMetrics {
  registry: client.Registry;
  success: client.Counter.Internal;
  failure: client.Counter.Internal;
  requestDuration: client.Histogram.Internal<string>;
  queueDuration: client.Histogram.Internal<string>;
  computeDuration: client.Histogram.Internal<string>;
  batchSize: client.Histogram.Internal<string>;
  inflight: client.Gauge.Internal<string>;
  ready: client.Gauge;
  fetchBytes: client.Counter;
  fetchDuration: client.Gauge;
  setModelInfo(digest: string): void;
}

// Latency buckets from 250µs (the example MLP answers in well under a millisecond) to 10 s.
const SECONDS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ROWS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export function createMetrics(model: string, version: string, opts: { processMetrics?: boolean } = {}): ServeMetrics {
  const registry = new client.Registry();
  if (opts.processMetrics !== false) client.collectDefaultMetrics({ register: registry });
  const labelNames = ['model', 'version'] as const;
  const labels = { model, version };
  const registers = [registry];
  const requests = new client.Counter({
    name: 'modelpin_infer_requests_total',
    help: 'Inference requests answered, by outcome (failure = any non-2xx answer to /infer).',
    labelNames: ['model', 'version', 'outcome'] as const,
    registers,
  });
  const hist = (name: string, help: string, buckets: number[]) =>
    new client.Histogram({ name, help, labelNames, buckets, registers }).labels(labels);
  const info = new client.Gauge({
    name: 'modelpin_model_info',
    help: 'The served model: name, version and the verified artifact digest (always 1).',
    labelNames: ['model', 'version', 'digest'] as const,
    registers,
  });
  const m: ServeMetrics = {
    registry,
    success: requests.labels({ ...labels, outcome: 'success' }),
    failure: requests.labels({ ...labels, outcome: 'failure' }),
    requestDuration: hist('modelpin_infer_request_duration_seconds', 'Inference request latency, end to end (queue included).', SECONDS),
    queueDuration: hist('modelpin_infer_queue_duration_seconds', 'Time a request waited in the batching queue.', SECONDS),
    computeDuration: hist('modelpin_infer_compute_duration_seconds', 'ONNX Runtime run time of the batch a request was part of.', SECONDS),
    batchSize: hist('modelpin_infer_batch_size', 'Rows (leading-dimension size) per ONNX Runtime run.', ROWS),
    inflight: new client.Gauge({
      name: 'modelpin_infer_inflight_requests',
      help: 'Inference requests received and not yet answered.',
      labelNames,
      registers,
    }).labels(labels),
    ready: new client.Gauge({ name: 'modelpin_model_ready', help: '1 when the model is loaded, verified, warmed up and serving.', registers }),
    fetchBytes: new client.Counter({ name: 'modelpin_fetch_bytes_total', help: 'Artifact bytes downloaded (0 on a cache hit).', registers }),
    fetchDuration: new client.Gauge({ name: 'modelpin_fetch_duration_seconds', help: 'Duration of the last start-up fetch and verification.', registers }),
    setModelInfo: (digest) => info.set({ model, version, digest }, 1),
  };
  // Zero the counters so the failure series exists before the first failure (rate() needs it).
  m.success.inc(0);
  m.failure.inc(0);
  m.ready.set(0);
  m.inflight.set(0);
  return m;
}

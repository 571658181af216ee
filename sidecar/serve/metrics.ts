// Prometheus metrics with the exact names the rendered canary AnalysisTemplate queries (see the
// shared contract in the README); a per-server prom-client Registry (text format, default process
// metrics) so tests can run several servers in one process.
//
// The per-request series are plain numbers behind prom-client's custom-metric interface: every
// inference request updates ~6 series, and prom-client's own observe()/inc() re-validate and
// re-hash the label set on each call, a visible cost at tens of thousands of requests/s.
// Label values are fixed per server (model, version), so they are formatted once, at scrape time.
import client from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** What prom-client's Registry needs from a metric (see Registry.getMetricsAsString). */
abstract class CustomMetric {
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  abstract values(): MetricValue[];
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }
  reset(): void {}
}

export class FastCounter extends CustomMetric {
  readonly type = 'counter';
  value = 0;
  constructor(name: string, help: string, readonly labels: Labels = {}) {
    super(name, help);
  }
  inc(by = 1): void {
    this.value += by;
  }
  values(): MetricValue[] {
    return [{ value: this.value, labels: this.labels }];
  }
}

/** Several series of one name that differ in their labels (outcome, protocol). */
class Family extends CustomMetric {
  constructor(
    name: string,
    help: string,
    readonly type: 'counter' | 'histogram',
    readonly members: CustomMetric[],
  ) {
    super(name, help);
  }
  values(): MetricValue[] {
    return this.members.flatMap((m) => m.values());
  }
}

export class FastGauge extends CustomMetric {
  readonly type = 'gauge';
  value = 0;
  constructor(name: string, help: string, readonly labels: Labels = {}) {
    super(name, help);
  }
  set(v: number): void {
    this.value = v;
  }
  inc(): void {
    this.value++;
  }
  dec(): void {
    this.value--;
  }
  values(): MetricValue[] {
    return [{ value: this.value, labels: this.labels }];
  }
}

export class FastHistogram extends CustomMetric {
  readonly type = 'histogram';
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(name: string, help: string, readonly buckets: readonly number[], readonly labels: Labels = {}) {
    super(name, help);
    this.counts = new Float64Array(buckets.length + 1);
  }
  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
  values(): MetricValue[] {
    const out: MetricValue[] = [];
    let cum = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cum += this.counts[i]!;
      const le = i < this.buckets.length ? String(this.buckets[i]) : '+Inf';
      out.push({ metricName: `${this.name}_bucket`, value: cum, labels: { le, ...this.labels } });
    }
    out.push({ metricName: `${this.name}_sum`, value: this.sum, labels: this.labels });
    out.push({ metricName: `${this.name}_count`, value: this.count, labels: this.labels });
    return out;
  }
}

/** modelpin_model_info: no series at all until the model (and so its digest) is known. */
class InfoGauge extends FastGauge {
  override values(): MetricValue[] {
    return this.value ? super.values() : [];
  }
}

/** The wire an inference request came in on; the per-request series carry it as label `protocol`. */
export type Protocol = 'rest' | 'grpc';
export const PROTOCOLS: readonly Protocol[] = ['rest', 'grpc'];

export interface RequestMetrics {
  success: FastCounter;
  failure: FastCounter;
  duration: FastHistogram;
}

export interface ServeMetrics {
  registry: client.Registry;
  /** Per protocol: answers by outcome, and end-to-end latency. */
  requests: Record<Protocol, RequestMetrics>;
  queueDuration: FastHistogram;
  computeDuration: FastHistogram;
  batchSize: FastHistogram;
  inflight: FastGauge;
  ready: FastGauge;
  fetchBytes: FastCounter;
  fetchDuration: FastGauge;
  setModelInfo(digest: string): void;
}

// Latency buckets from 250µs (the example MLP answers in well under a millisecond) to 10 s.
const SECONDS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ROWS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export function createMetrics(model: string, version: string, opts: { processMetrics?: boolean } = {}): ServeMetrics {
  const registry = new client.Registry();
  if (opts.processMetrics !== false) client.collectDefaultMetrics({ register: registry });
  const labels = { model, version };
  // Both protocols' series exist from the start (at 0), so a rate() over either never starts from a gap.
  const requests = Object.fromEntries(
    PROTOCOLS.map((protocol) => [
      protocol,
      {
        success: new FastCounter('modelpin_infer_requests_total', '', { ...labels, protocol, outcome: 'success' }),
        failure: new FastCounter('modelpin_infer_requests_total', '', { ...labels, protocol, outcome: 'failure' }),
        duration: new FastHistogram('modelpin_infer_request_duration_seconds', '', SECONDS, { ...labels, protocol }),
      },
    ]),
  ) as Record<Protocol, RequestMetrics>;
  const info = new InfoGauge('modelpin_model_info', 'The served model: name, version and the verified artifact digest (always 1 once ready).');
  const m: ServeMetrics = {
    registry,
    requests,
    queueDuration: new FastHistogram('modelpin_infer_queue_duration_seconds', 'Time a request waited in the batching queue.', SECONDS, labels),
    computeDuration: new FastHistogram('modelpin_infer_compute_duration_seconds', 'ONNX Runtime run time, one observation per run (batch).', SECONDS, labels),
    batchSize: new FastHistogram('modelpin_infer_batch_size', 'Rows (leading-dimension size) per ONNX Runtime run.', ROWS, labels),
    inflight: new FastGauge('modelpin_infer_inflight_requests', 'Inference requests received and not yet answered.', labels),
    ready: new FastGauge('modelpin_model_ready', '1 when the model is verified, loaded, warmed up and serving.'),
    fetchBytes: new FastCounter('modelpin_fetch_bytes_total', 'Artifact bytes downloaded (0 on a cache hit).'),
    fetchDuration: new FastGauge('modelpin_fetch_duration_seconds', 'Duration of the last start-up fetch and verification.'),
    setModelInfo: (digest) => {
      info.labels.model = model;
      info.labels.version = version;
      info.labels.digest = digest;
      info.set(1);
    },
  };
  const metrics: { name: string }[] = [
    new Family(
      'modelpin_infer_requests_total',
      'Inference requests answered, by protocol (rest, grpc) and outcome (failure = any answer but REST 200 / gRPC OK).',
      'counter',
      PROTOCOLS.flatMap((p) => [requests[p].success, requests[p].failure]),
    ),
    new Family(
      'modelpin_infer_request_duration_seconds',
      'Inference request latency, end to end (queue included), by protocol.',
      'histogram',
      PROTOCOLS.map((p) => requests[p].duration),
    ),
    m.queueDuration,
    m.computeDuration,
    m.batchSize,
    m.inflight,
    info,
    m.ready,
    m.fetchBytes,
    m.fetchDuration,
  ];
  for (const metric of metrics) registry.registerMetric(metric as unknown as client.Metric);
  return m;
}

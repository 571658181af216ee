// The rendered canary analysis against the real things it depends on: real sidecars serving the
// example model (`node dist/modelpin.js serve`), a real Prometheus scraping them with the labels
// the rendered PodMonitor makes the Prometheus Operator attach, and Argo Rollouts' own code
// (test/rollouts-eval, the argo-rollouts Go module) substituting the args, running the queries
// and evaluating successCondition/failureCondition.
//
// Four canaries, each a sidecar whose pods would carry their own rollouts-pod-template-hash:
//   healthy    scraped, valid traffic                          → every metric Successful
//   failing    scraped, 1 in 10 requests malformed (400), 1 in 20 slow (body trickled in)
//                                                              → error rate and p99 Failed
//   idle       scraped, no traffic                             → passes; inconclusive under minRequests
//   unscraped  serving traffic, but no scrape target (what a missing PodMonitor looks like)
//                                                              → the scrape metric Failed, the others never Successful
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderText } from '../../src/render/pipeline.js';
import { startPrometheus, type PrometheusServer, type Sample } from './support/prometheus.js';
import { harness, judge, type Arg, type Verdict } from './support/rollouts-eval.js';
import { spawnServe, type ServeProcess } from './support/serve-process.js';

const ROOT = join(import.meta.dirname, '../..');
const MODEL = join(ROOT, 'plugin/examples/fraud-detector/model.onnx');
const NAME = 'fraud-detector';
const NS = 'fraud';
const SCRAPE = '1s';
const RATE_WINDOW_MS = 4_000; // 4 scrapes, as rendered
const MAX_ERROR_RATE = 0.05;
const MAX_P99_MS = 250;
/** Body trickle of a slow request: far above MAX_P99_MS, so p99 lands beyond it whatever the load. */
const SLOW_MS = 1_500;
const CANARIES = { healthy: '6f7d9c8b5', failing: '7b4c5d6e8', idle: '5c6d7e8f9', unscraped: '8e9f6a7b4' } as const;
type Canary = keyof typeof CANARIES;
const SCRAPED: Canary[] = ['healthy', 'failing', 'idle'];

type Any = Record<string, any>;

async function renderCanary(address: string, minRequests: number): Promise<{ podMonitor: Any; template: Any }> {
  const digest = 'sha256:' + createHash('sha256').update(readFileSync(MODEL)).digest('hex');
  const spec = `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata: {name: ${NAME}}
spec:
  model: {uri: "file://${MODEL}", digest: "${digest}"}
  serving: {image: "ghcr.io/modelpin/modelpin-sidecar:0.1.0@sha256:${'1'.repeat(64)}"}
  replicas: 4
  rollout:
    canary:
      steps: [{weight: 25}]
      analysis:
        prometheus: {address: "${address}", scrapeInterval: ${SCRAPE}}
        maxErrorRate: ${MAX_ERROR_RATE}
        maxP99LatencyMs: ${MAX_P99_MS}
        minRequests: ${minRequests}
        interval: 5s
`;
  const { output } = await renderText(spec, {
    file: 'modelpin.yaml',
    kubeVersion: { major: 1, minor: 30 },
    namespace: NS,
    apiVersions: ['v1', 'monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/PodMonitor'],
    format: 'json',
  });
  const items = (JSON.parse(output) as { items: Any[] }).items;
  return { podMonitor: items.find((o) => o.kind === 'PodMonitor')!, template: items.find((o) => o.kind === 'AnalysisTemplate')! };
}

/**
 * The target labels prometheus-operator's generated relabelling gives a pod the PodMonitor selects
 * (pkg/prometheus/promcfg.go, generatePodMonitorConfig): namespace, container, pod; each
 * podTargetLabels entry with [^a-zA-Z0-9_] → "_"; endpoint = the port name. `job` is
 * "<namespace>/<name>", here the scrape job's name.
 */
function operatorTargetLabels(pm: Any, hash: string): Record<string, string> {
  const labels: Record<string, string> = { namespace: NS, container: 'modelpin', pod: `${NAME}-${hash}-x2v7q`, endpoint: pm.spec.podMetricsEndpoints[0].port };
  for (const l of pm.spec.podTargetLabels as string[]) labels[l.replace(/[^a-zA-Z0-9_]/g, '_')] = hash;
  return labels;
}

const args = (c: Canary): Arg[] => [
  { name: 'canary-hash', value: CANARIES[c] },
  { name: 'namespace', value: NS },
];

// --- traffic ----------------------------------------------------------------------------------
interface Traffic {
  sent: number;
  failed: number;
  slow: number;
  durationsMs: number[];
  stop(): Promise<void>;
}

const input = (rows: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: Array.from({ length: rows * 64 }, (_, i) => ((i * 7919) % 13) / 13 - 0.5) }] });

/** One /infer request; the body is written after `delayMs` (a slow client the sidecar times end to end). */
function post(port: number, body: string, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: `/v2/models/${NAME}/infer`, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.flushHeaders();
    if (delayMs > 0) setTimeout(() => req.end(body), delayMs);
    else req.end(body);
  });
}

/**
 * Requests in a fixed pattern from `lanes` concurrent loops until stopped (or a hard bound):
 * request i is malformed (→ 400, a failure) when failEvery divides i + 1, slow when slowEvery does.
 */
function startTraffic(port: number, opts: { lanes: number; failEvery?: number; slowEvery?: number }): Traffic {
  const ok = JSON.stringify(input(2));
  const t: Traffic = { sent: 0, failed: 0, slow: 0, durationsMs: [], stop: async () => {} };
  let stopped = false;
  let next = 0;
  const hardStop = Date.now() + 180_000;
  const lane = async () => {
    while (!stopped && Date.now() < hardStop && next < 200_000) {
      const i = next++;
      const fail = opts.failEvery !== undefined && (i + 1) % opts.failEvery === 0;
      const slow = opts.slowEvery !== undefined && (i + 5) % opts.slowEvery === 0;
      const started = performance.now();
      const status = await post(port, fail ? '{"inputs": [' : ok, slow ? SLOW_MS : 0);
      t.durationsMs.push(performance.now() - started);
      t.sent++;
      if (status !== 200) t.failed++;
      if (slow) t.slow++;
      if (fail !== (status !== 200)) throw new Error(`request ${i}: status ${status}, expected ${fail ? 'a failure' : '200'}`);
    }
  };
  const lanes = Array.from({ length: opts.lanes }, lane);
  t.stop = async () => {
    stopped = true;
    await Promise.all(lanes);
  };
  return t;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

/** Prometheus' instant-vector values as the text Argo Rollouts' client would turn into floats. */
const values = (r: { resultType: string; result: Sample[] }): string[] => {
  expect(r.resultType).toBe('vector');
  return r.result.map((s) => s.value[1]);
};

describe('canary analysis against a real Prometheus and Argo Rollouts evaluation', () => {
  let work: string;
  let prom: PrometheusServer;
  const sidecars = {} as Record<Canary, ServeProcess>;
  const ports = {} as Record<Canary, number>;
  const traffic: Partial<Record<Canary, Traffic>> = {};
  let template: Any;
  let minRequestsTemplate: Any;
  let podMonitor: Any;
  // metric name → resolved query (Argo Rollouts' own arg substitution), per canary
  const resolved = {} as Record<Canary, Verdict[]>;
  const measured = {} as Record<Canary, Record<string, string[]>>;
  // the same for the template rendered with minRequests: 100000 (more than any canary gets)
  const measuredMin = {} as Record<Canary, Record<string, string[]>>;

  beforeAll(async () => {
    // Built (and cached) before anything starts: a cold build of the Go harness takes minutes.
    harness();
    work = mkdtempSync(join(tmpdir(), 'modelpin-canary-'));
    const digest = 'sha256:' + createHash('sha256').update(readFileSync(MODEL)).digest('hex');
    for (const c of Object.keys(CANARIES) as Canary[]) {
      sidecars[c] = spawnServe(['serve', '--uri', `file://${MODEL}`, '--digest', digest, '--name', NAME, '--port', '0', '--host', '127.0.0.1', '--cache-dir', join(work, c)]);
    }
    for (const c of Object.keys(CANARIES) as Canary[]) {
      ports[c] = await sidecars[c].port;
      await sidecars[c].ready;
    }
    ({ podMonitor } = await renderCanary('http://127.0.0.1:9', 0));
    const ep = podMonitor.spec.podMetricsEndpoints[0];
    expect(ep.interval).toBe(SCRAPE);
    prom = await startPrometheus({
      scrapeInterval: ep.interval,
      jobs: [
        {
          name: `${NS}/${podMonitor.metadata.name}`,
          metricsPath: ep.path,
          targets: SCRAPED.map((c) => ({ address: `127.0.0.1:${ports[c]}`, labels: operatorTargetLabels(podMonitor, CANARIES[c]) })),
        },
      ],
    });
    ({ template } = await renderCanary(prom.url, 0));
    ({ template: minRequestsTemplate } = await renderCanary(prom.url, 100_000));
    await prom.waitForTargetsUp(SCRAPED.length);

    traffic.healthy = startTraffic(ports.healthy, { lanes: 2 });
    traffic.failing = startTraffic(ports.failing, { lanes: 4, failEvery: 10, slowEvery: 20 });
    traffic.unscraped = startTraffic(ports.unscraped, { lanes: 2, failEvery: 2 });
    // A full rate window of traffic, plus two scrapes.
    await sleep(RATE_WINDOW_MS + 2_000);

    const canaries = Object.keys(CANARIES) as Canary[];
    const r = await judge([
      ...canaries.map((c) => ({ mode: 'resolve' as const, template, args: args(c) })),
      ...canaries.map((c) => ({ mode: 'resolve' as const, template: minRequestsTemplate, args: args(c) })),
    ]);
    canaries.forEach((c, i) => (resolved[c] = r[i]!));
    for (const [i, c] of canaries.entries()) {
      measured[c] = {};
      for (const m of resolved[c]) measured[c][m.metric] = values(await prom.query(m.query!));
      measuredMin[c] = {};
      for (const m of r[canaries.length + i]!) measuredMin[c][m.metric] = values(await prom.query(m.query!));
    }
  }, 900_000);

  afterAll(async () => {
    await Promise.all(Object.values(traffic).map((t) => t.stop()));
    await prom?.stop();
    for (const p of Object.values(sidecars)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the rendered PodMonitor gives the target the labels the queries select on', () => {
    expect(podMonitor.spec.podTargetLabels).toEqual(['rollouts-pod-template-hash']);
    const labels = operatorTargetLabels(podMonitor, 'h');
    expect(labels).toMatchObject({ namespace: NS, rollouts_pod_template_hash: 'h', endpoint: 'http' });
    for (const m of resolved.healthy) {
      expect(m.query).toContain(`namespace="${NS}",rollouts_pod_template_hash="${CANARIES.healthy}"`);
      expect(m.query).not.toContain('{{');
    }
  });

  it('Prometheus measures what the traffic did, and the thresholds tell the canaries apart', () => {
    const [scraped, errorRate, latency] = resolved.healthy.map((m) => m.metric) as [string, string, string];
    const num = (c: Canary, m: string) => Number(measured[c][m]![0]);
    // Scraped: one ready pod per scraped canary; the unscraped canary is 0, not an empty result.
    for (const c of SCRAPED) expect(measured[c][scraped]).toEqual(['1']);
    expect(measured.unscraped[scraped]).toEqual(['0']);

    // Error rate: the share of 400s the traffic produced (1 in 10), nothing for the healthy one.
    const failing = traffic.failing!;
    // (Slow requests still in flight lag the count a little; the window holds a few hundred.)
    expect(failing.failed / failing.sent).toBeCloseTo(0.1, 1);
    expect(num('failing', errorRate)).toBeGreaterThan(0.06);
    expect(num('failing', errorRate)).toBeLessThan(0.14);
    expect(num('failing', errorRate)).toBeGreaterThan(MAX_ERROR_RATE);
    expect(num('healthy', errorRate)).toBe(0);

    // p99: the slow requests (1 in 20) put it beyond the threshold; the fast ones stay below it.
    expect(num('failing', latency)).toBeGreaterThan(SLOW_MS);
    expect(num('healthy', latency)).toBeLessThanOrEqual(MAX_P99_MS);

    // Scraped and idle: 0/0 and no histogram rate, NaN, not an empty result.
    expect(measured.idle[errorRate]).toEqual(['NaN']);
    expect(measured.idle[latency]).toEqual(['NaN']);
    // Not scraped: no series at all.
    expect(measured.unscraped[errorRate]).toEqual([]);
    expect(measured.unscraped[latency]).toEqual([]);

    console.log(
      `[canary-analysis] failing canary: Prometheus error rate ${num('failing', errorRate).toFixed(4)} vs generated ` +
        `${(failing.failed / failing.sent).toFixed(4)} (${failing.failed}/${failing.sent}); p99 ${num('failing', latency).toFixed(1)} ms vs client-side ` +
        `p99 ${quantile(failing.durationsMs, 0.99).toFixed(1)} ms (${failing.slow} requests slowed by ${SLOW_MS} ms); ` +
        `healthy canary: error rate ${num('healthy', errorRate)}, p99 ${num('healthy', latency).toFixed(2)} ms vs client-side ` +
        `p99 ${quantile(traffic.healthy!.durationsMs, 0.99).toFixed(2)} ms over ${traffic.healthy!.sent} requests`,
    );
  });

  it("Argo Rollouts' evaluation judges those results: healthy passes, failing fails, unscraped fails the scrape metric", async () => {
    const canaries = Object.keys(CANARIES) as Canary[];
    const verdicts = await judge([
      ...canaries.map((c) => ({ mode: 'evaluate' as const, template, args: args(c), results: measured[c] })),
      ...canaries.map((c) => ({ mode: 'evaluate' as const, template: minRequestsTemplate, args: args(c), results: measuredMin[c] })),
    ]);
    const phases = verdicts.map((v) => v.map((m) => m.phase));
    expect(Object.fromEntries(canaries.map((c, i) => [c, phases[i]]))).toEqual({
      healthy: ['Successful', 'Successful', 'Successful'],
      failing: ['Successful', 'Failed', 'Failed'],
      idle: ['Successful', 'Successful', 'Successful'],
      unscraped: ['Failed', 'Inconclusive', 'Inconclusive'],
    });
    // minRequests above what any canary got: the gate empties the result, so error rate and p99
    // are inconclusive for every canary, never passed (nor failed: too little to judge).
    expect(Object.fromEntries(canaries.map((c, i) => [c, phases[canaries.length + i]]))).toEqual({
      healthy: ['Successful', 'Inconclusive', 'Inconclusive'],
      failing: ['Successful', 'Inconclusive', 'Inconclusive'],
      idle: ['Successful', 'Inconclusive', 'Inconclusive'],
      unscraped: ['Failed', 'Inconclusive', 'Inconclusive'],
    });
    for (const c of canaries) expect(Object.values(measuredMin[c]).slice(1)).toEqual([[], []]);
    for (const v of verdicts.flat()) expect(v.message ?? '').toBe('');
  });

  it("Argo Rollouts' Prometheus provider, run on the live server, reaches the same verdicts", async () => {
    const canaries = Object.keys(CANARIES) as Canary[];
    const verdicts = await judge([
      ...canaries.map((c) => ({ mode: 'run' as const, template, args: args(c) })),
      ...(['healthy', 'idle'] as const).map((c) => ({ mode: 'run' as const, template: minRequestsTemplate, args: args(c) })),
    ]);
    const byCanary = Object.fromEntries(canaries.map((c, i) => [c, verdicts[i]!.map((m) => m.phase)]));
    expect(byCanary).toEqual({
      healthy: ['Successful', 'Successful', 'Successful'],
      failing: ['Successful', 'Failed', 'Failed'],
      idle: ['Successful', 'Successful', 'Successful'],
      unscraped: ['Failed', 'Inconclusive', 'Inconclusive'],
    });
    // Fewer requests than min-requests: the gate empties the result, Argo calls it Inconclusive.
    expect(verdicts.slice(4).map((v) => v.map((m) => [m.phase, m.value]))).toEqual([
      [['Successful', '[1]'], ['Inconclusive', '[]'], ['Inconclusive', '[]']],
      [['Successful', '[1]'], ['Inconclusive', '[]'], ['Inconclusive', '[]']],
    ]);
    // The measured values Argo Rollouts records (and its dashboard charts) are Prometheus' numbers.
    expect(verdicts[canaries.indexOf('unscraped')]!.map((m) => m.value)).toEqual(['[0]', '[]', '[]']);
    expect(verdicts[canaries.indexOf('idle')]!.map((m) => m.value)).toEqual(['[1]', '[NaN]', '[NaN]']);
  });
});

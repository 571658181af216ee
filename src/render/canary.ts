// Argo Rollouts canary: the Rollout's strategy and the AnalysisTemplate that judges the canary by
// the sidecar's own Prometheus metrics (names in the README's Metrics table). A failed analysis
// aborts the rollout: canary weight back to 0, the stable ReplicaSet scaled up, the Rollout Degraded.
//
// "No data" never passes. The first metric asserts that Prometheus sees the canary's pods at all
// (a missing PodMonitor, a wrong port, a NetworkPolicy, a relabel typo all look like "no series");
// it fails, and names itself in the abort message, when it does not. The error-rate and latency
// metrics are inconclusive, never successful, on an empty result; only "scraped, no traffic"
// (0/0 = NaN) passes, and only while the user asks for no minimum of requests.
//
// Argo CD shows an aborted analysis as `Metric "<name>" assessed Failed due to failed (n) >
// failureLimit (m)`, so each name carries its threshold; the thresholds are also template args,
// which the Rollouts dashboard substitutes into the condition it draws on the measurement chart.
import { analysisTiming, formatDuration } from '../spec/canary-timing.js';
import type { CanaryAnalysis, ModelDeployment, RolloutSection } from '../spec/types.js';

export function analysisTemplateName(spec: ModelDeployment): string {
  return `${spec.metadata.name}-canary`;
}

type Json = Record<string, unknown>;

/** The metric names, in the order Argo Rollouts assesses them (the first failed one names the abort). */
export function metricNames(a: CanaryAnalysis): { scraped: string; errorRate: string; latency: string } {
  return {
    scraped: 'canary-scraped-by-prometheus',
    errorRate: `error-rate-max-${decimal(a.maxErrorRate)}`,
    latency: `p99-latency-max-${decimal(a.maxP99LatencyMs)}ms`,
  };
}

export function canaryStrategy(spec: ModelDeployment, rollout: RolloutSection): Json {
  const steps: Json[] = [];
  for (const step of rollout.canary.steps) {
    steps.push({ setWeight: step.weight });
    // No duration = wait until someone promotes the rollout by hand.
    steps.push({ pause: step.pause === undefined ? {} : { duration: step.pause } });
  }
  const canary: Json = { steps };
  if (rollout.canary.analysis) {
    // Background analysis: runs through all later steps, so a regression at any weight aborts.
    // It starts at step 1, the first pause, which Argo Rollouts enters only once the first
    // setWeight's canary pods are available: a model still downloading is not "unscraped".
    canary.analysis = {
      templates: [{ templateName: analysisTemplateName(spec) }],
      args: [
        { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
        { name: 'namespace', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ],
      startingStep: 1,
    };
  }
  return { canary };
}

export function analysisTemplateSpec(spec: ModelDeployment, a: CanaryAnalysis): Json {
  const t = analysisTiming(a);
  const window = formatDuration(t.rateWindowSeconds);
  const pods = 'namespace="{{args.namespace}}",rollouts_pod_template_hash="{{args.canary-hash}}"';
  const sel = `${pods},model="${spec.metadata.name}"`;
  const names = metricNames(a);
  const common = {
    initialDelay: formatDuration(t.initialDelaySeconds),
    interval: a.interval ?? formatDuration(t.intervalSeconds),
    failureLimit: t.failureLimit,
  };
  // Fewer requests than min-requests in the window: no value, so the measurement is inconclusive.
  const enoughRequests = `and on() sum(increase(modelpin_infer_requests_total{${sel}}[${window}])) >= {{args.min-requests}}\n`;
  // Written `len(result) == 1 && result[0] <op> {{args.x}}` so the Rollouts dashboard finds the
  // threshold (it splits conditions on && and || and reads "result[0] <op> <number>").
  const judged = (arg: string) => ({
    successCondition: `len(result) == 1 && isNaN(result[0]) || len(result) == 1 && result[0] <= {{args.${arg}}}`,
    failureCondition: `len(result) == 1 && result[0] > {{args.${arg}}}`,
  });
  const prom = (query: string): Json => ({ prometheus: { address: a.prometheus.address, query } });
  return {
    args: [
      { name: 'canary-hash' },
      { name: 'namespace' },
      { name: 'max-error-rate', value: decimal(a.maxErrorRate) },
      { name: 'max-p99-latency-ms', value: decimal(a.maxP99LatencyMs) },
      { name: 'min-requests', value: String(a.minRequests ?? 0) },
    ],
    metrics: [
      {
        // Canary pods Prometheus saw ready within the rate window; `or vector(0)` makes "none" a
        // 0 on the chart instead of an empty result.
        name: names.scraped,
        ...common,
        successCondition: 'len(result) == 1 && result[0] >= 1',
        provider: prom(`count(max_over_time(modelpin_model_ready{${pods}}[${window}]) == 1)\nor vector(0)\n`),
      },
      {
        name: names.errorRate,
        ...common,
        // One more inconclusive measurement tolerated than failed ones: for a canary Prometheus does
        // not see, the scrape metric then fails (and names itself) a whole interval before this
        // one could end the run as Inconclusive. Argo Rollouts measures each metric on its own
        // clock and stops the others once one completes, so equal limits would be a race.
        inconclusiveLimit: t.failureLimit + 1,
        ...judged('max-error-rate'),
        provider: prom(
          `(\n  sum(rate(modelpin_infer_requests_total{${sel},outcome="failure"}[${window}]))\n` +
            `  /\n  sum(rate(modelpin_infer_requests_total{${sel}}[${window}]))\n)\n` +
            enoughRequests,
        ),
      },
      {
        name: names.latency,
        ...common,
        inconclusiveLimit: t.failureLimit + 1,
        ...judged('max-p99-latency-ms'),
        provider: prom(
          `1000 * histogram_quantile(0.99,\n  sum by (le) (rate(modelpin_infer_request_duration_seconds_bucket{${sel}}[${window}])))\n` +
            enoughRequests,
        ),
      },
    ],
  };
}

/** A number as plain decimal text (no exponent), for metric names, args and expressions alike. */
function decimal(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

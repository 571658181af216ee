// Argo Rollouts canary: the Rollout's strategy and the AnalysisTemplate that judges the canary by
// the sidecar's own Prometheus metrics (names fixed in COMMON.md). A failed analysis aborts the
// rollout: canary weight back to 0, the stable ReplicaSet scaled up, the Rollout Degraded.
import type { CanaryAnalysis, ModelDeployment, RolloutSection } from '../spec/types.js';

const DEFAULT_INTERVAL = '1m';
const DEFAULT_FAILURE_LIMIT = 1;
/** Rate window: four scrapes at the common 30 s interval; shorter windows flap on sparse traffic. */
const RATE_WINDOW = '2m';

export function analysisTemplateName(spec: ModelDeployment): string {
  return `${spec.metadata.name}-canary`;
}

type Json = Record<string, unknown>;

export function canaryStrategy(spec: ModelDeployment, rollout: RolloutSection): Json {
  const steps: Json[] = [];
  for (const step of rollout.canary.steps) {
    steps.push({ setWeight: step.weight });
    // No duration = wait until someone promotes the rollout by hand.
    steps.push({ pause: step.pause === undefined ? {} : { duration: step.pause } });
  }
  const canary: Json = { steps };
  if (rollout.canary.analysis) {
    // Background analysis: runs through all steps, so a regression at any weight aborts.
    canary.analysis = {
      templates: [{ templateName: analysisTemplateName(spec) }],
      args: [
        { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
        { name: 'namespace', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ],
    };
  }
  return { canary };
}

/** `result` is a Prometheus vector: empty when no series exist yet, NaN when there was no traffic (0/0). */
function noData(): string {
  return 'len(result) == 0 || isNaN(result[0])';
}

export function analysisTemplateSpec(spec: ModelDeployment, a: CanaryAnalysis): Json {
  const model = spec.metadata.name;
  const sel = `namespace="{{args.namespace}}",rollouts_pod_template_hash="{{args.canary-hash}}",model="${model}"`;
  const interval = a.interval ?? DEFAULT_INTERVAL;
  const failureLimit = a.failureLimit ?? DEFAULT_FAILURE_LIMIT;
  const prom = (query: string): Json => ({ prometheus: { address: a.prometheus.address, query } });
  return {
    args: [{ name: 'canary-hash' }, { name: 'namespace' }],
    metrics: [
      {
        name: 'error-rate',
        interval,
        failureLimit,
        successCondition: `${noData()} || result[0] <= ${a.maxErrorRate}`,
        provider: prom(
          `sum(rate(modelpin_infer_requests_total{${sel},outcome="failure"}[${RATE_WINDOW}]))\n` +
            `/\nsum(rate(modelpin_infer_requests_total{${sel}}[${RATE_WINDOW}]))\n`,
        ),
      },
      {
        name: 'p99-latency-ms',
        interval,
        failureLimit,
        successCondition: `${noData()} || result[0] <= ${a.maxP99LatencyMs}`,
        provider: prom(
          `1000 * histogram_quantile(0.99,\n  sum by (le) (rate(modelpin_infer_request_duration_seconds_bucket{${sel}}[${RATE_WINDOW}])))\n`,
        ),
      },
    ],
  };
}

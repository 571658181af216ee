// The PodMonitor that makes a Prometheus Operator scrape the sidecars. The Operator ignores the
// prometheus.io/* pod annotations (those serve annotation-based scrape configs, which the pod
// template keeps), so without a PodMonitor or ServiceMonitor nothing scrapes the canary.
//
// Labels the analysis selects on, from prometheus-operator's generated scrape config
// (pkg/prometheus/promcfg.go, generatePodMonitorConfig): `namespace`, `pod` and `container` are
// always relabelled from the discovery metadata; each podTargetLabels entry becomes a target label
// with [^a-zA-Z0-9_] turned into "_", so rollouts-pod-template-hash arrives as
// rollouts_pod_template_hash; `job` is "<namespace>/<PodMonitor name>" and `endpoint` the port name.
import type { Problem } from '../errors.js';
import type { CanaryAnalysis } from '../spec/types.js';
import { sortKeys } from './labels.js';
import { SIDECAR_PORT_NAME } from './pod.js';
import type { K8sObject, RenderContext } from './types.js';

/** How Argo CD's KUBE_API_VERSIONS (and --api-versions) names the PodMonitor kind. */
export const POD_MONITOR_API = 'monitoring.coreos.com/v1/PodMonitor';

/** The pod label Argo Rollouts puts on each ReplicaSet's pods, and the one the queries need. */
export const POD_TEMPLATE_HASH_LABEL = 'rollouts-pod-template-hash';

/** spec.…prometheus.podMonitor wins; otherwise a PodMonitor exactly when the cluster serves the kind. */
export function wantsPodMonitor(a: CanaryAnalysis, ctx: RenderContext): boolean {
  return a.prometheus.podMonitor ?? (ctx.apiVersions ?? []).includes(POD_MONITOR_API);
}

/** podMonitor: true for a cluster known not to serve the kind: Argo CD's sync would fail on it. */
export function podMonitorWarnings(a: CanaryAnalysis, ctx: RenderContext): Problem[] {
  if (a.prometheus.podMonitor !== true || ctx.apiVersions === undefined || ctx.apiVersions.includes(POD_MONITOR_API)) return [];
  return [
    {
      code: 'MODELPIN_E_SPEC_INVALID',
      path: 'spec.rollout.canary.analysis.prometheus.podMonitor',
      message: `podMonitor is true, but the cluster does not serve ${POD_MONITOR_API} (KUBE_API_VERSIONS); applying the PodMonitor will fail`,
      hint: "install the Prometheus Operator's CRDs, or set podMonitor: false and let an annotation-based scrape config find the pods",
    },
  ];
}

export function podMonitor(
  a: CanaryAnalysis,
  meta: { name: string; namespace?: string; labels: Record<string, string>; annotations?: Record<string, string> },
  selector: Record<string, string>,
): K8sObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    // podMonitorLabels first so the standard labels win a clash, as with metadata.labels.
    metadata: { ...meta, labels: sortKeys({ ...(a.prometheus.podMonitorLabels ?? {}), ...meta.labels }) },
    spec: {
      // Stable and canary pods alike; the queries pick the canary by its pod-template hash.
      selector: { matchLabels: selector },
      podTargetLabels: [POD_TEMPLATE_HASH_LABEL],
      // The sidecar serves /metrics on its inference port (a native sidecar's port is discovered
      // too: Prometheus' pod discovery lists init containers).
      podMetricsEndpoints: [{ port: SIDECAR_PORT_NAME, path: '/metrics', interval: a.prometheus.scrapeInterval }],
    },
  };
}

// render(spec, ctx): a parsed ModelDeployment → Kubernetes objects, in a fixed order:
//   ServiceAccount, Service, PodDisruptionBudget (replicas > 1), ConfigMap (inline warm-up samples),
//   Deployment — or, with spec.rollout.canary, PodMonitor (analysis + Prometheus Operator),
//   AnalysisTemplate (when analysis is set) + Rollout.
// Pure: no fs, env, clock or network; same input → same objects in the same key order.
import { ModelpinError, type Problem } from '../errors.js';
import { IMAGE_PINNED } from '../spec/patterns.js';
import type { ModelDeployment } from '../spec/types.js';
import { analysisTemplateName, analysisTemplateSpec, canaryStrategy } from './canary.js';
import { objectAnnotations, objectLabels, objectMeta, selectorLabels, sortKeys } from './labels.js';
import { podTemplate } from './pod.js';
import { podMonitor, podMonitorWarnings, wantsPodMonitor } from './pod-monitor.js';
import type { K8sObject, RenderContext, RenderResult } from './types.js';
import { WARMUP_FILE, warmupConfigMap } from './warmup.js';

export type { K8sObject, RenderContext, RenderResult } from './types.js';

// The parser's grammar, so render and validate agree on what "pinned" means.
const PINNED_IMAGE_RE = new RegExp(IMAGE_PINNED);

export function render(spec: ModelDeployment, ctx: RenderContext): RenderResult {
  const s = spec.spec;
  const digest = s.model.digest;
  if (digest === undefined) {
    throw new ModelpinError('MODELPIN_E_SPEC_UNPINNED', `spec.model.digest is missing for ${s.model.uri}`, {
      hint: 'run `modelpin lock` and commit the digest, or render with --resolve (parameter resolve=true)',
      location: { path: 'spec.model.digest' },
    });
  }

  const warnings: Problem[] = [...unpinnedImages(spec)];
  const name = spec.metadata.name;
  const ns = spec.metadata.namespace ?? ctx.namespace;
  const labels = objectLabels(spec, ctx);
  const annotations = objectAnnotations(spec, ctx);
  const meta = (objName: string, extra?: Record<string, string>) =>
    objectMeta(objName, ns, labels, extra === undefined ? annotations : sortKeys({ ...(annotations ?? {}), ...extra }));
  const selector = selectorLabels(spec);

  const objects: K8sObject[] = [];
  // A stable identity for the pods: workload-identity annotations (IRSA, GKE, Azure) go here.
  objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name), automountServiceAccountToken: false });

  const ports: Record<string, unknown>[] = [{ name: 'http', port: s.serving.port, targetPort: 'http', protocol: 'TCP' }];
  // appProtocol tells meshes and gateways (Istio, Envoy Gateway, GKE) to speak HTTP/2 gRPC to it.
  if (s.serving.grpcPort > 0) ports.push({ name: 'grpc', port: s.serving.grpcPort, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' });
  if (s.app?.port !== undefined) ports.push({ name: 'app', port: s.app.port, targetPort: 'app', protocol: 'TCP' });
  objects.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(name), spec: { type: 'ClusterIP', selector, ports } });

  if (s.replicas > 1) {
    objects.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(name),
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
    });
  }

  const warmup = warmupConfigMap(spec);
  if (warmup) {
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(warmup.name), immutable: true, data: { [WARMUP_FILE]: warmup.json } });
  }

  const pod = podTemplate(spec, digest, ctx);
  warnings.push(...pod.warnings);
  const workloadExtra = workloadAnnotations(spec, ctx);

  if (s.rollout) {
    const analysis = s.rollout.canary.analysis;
    if (analysis) {
      if (wantsPodMonitor(analysis, ctx)) objects.push(podMonitor(analysis, meta(name), selector));
      warnings.push(...podMonitorWarnings(analysis, ctx));
      objects.push({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: meta(analysisTemplateName(spec)),
        spec: analysisTemplateSpec(spec, analysis),
      });
    }
    objects.push({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: meta(name, workloadExtra),
      spec: {
        replicas: s.replicas,
        revisionHistoryLimit: 10,
        selector: { matchLabels: selector },
        template: pod.template,
        strategy: canaryStrategy(spec, s.rollout),
      },
    });
  } else {
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name, workloadExtra),
      spec: {
        replicas: s.replicas,
        revisionHistoryLimit: 10,
        selector: { matchLabels: selector },
        // Loading a model takes time: never drop below the desired count while new pods start.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
        template: pod.template,
      },
    });
  }
  return { objects, warnings };
}

/** Provenance (recorded, never interpreted) and render-time resolution mark the workload, not the pod template. */
function workloadAnnotations(spec: ModelDeployment, ctx: RenderContext): Record<string, string> | undefined {
  const a: Record<string, string> = {};
  const p = spec.spec.model.provenance;
  if (p?.repo !== undefined) a['modelpin.dev/provenance-repo'] = p.repo;
  if (p?.commit !== undefined) a['modelpin.dev/provenance-commit'] = p.commit;
  if (p?.script !== undefined) a['modelpin.dev/provenance-script'] = p.script;
  if (p?.mlflowRunId !== undefined) a['modelpin.dev/provenance-mlflow-run-id'] = p.mlflowRunId;
  if (ctx.resolvedAtRender) a['modelpin.dev/resolved-at-render'] = 'true';
  return Object.keys(a).length > 0 ? a : undefined;
}

function unpinnedImages(spec: ModelDeployment): Problem[] {
  const out: Problem[] = [];
  const check = (image: string, path: string) => {
    if (!PINNED_IMAGE_RE.test(image)) {
      out.push({
        code: 'MODELPIN_E_IMAGE_UNPINNED',
        path,
        message: `image "${image}" is not pinned by digest; the tag can move under the same commit`,
        hint: 'use <image>@sha256:<digest> (e.g. from `docker buildx imagetools inspect <image>`)',
      });
    }
  };
  check(spec.spec.serving.image, 'spec.serving.image');
  if (spec.spec.app) check(spec.spec.app.image, 'spec.app.image');
  return out;
}

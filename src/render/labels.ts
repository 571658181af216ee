// Labels and annotations. Two rules drive this module:
// - the selector is immutable on a Deployment/Rollout, so it holds only what never changes for the
//   life of a ModelDeployment: its name (never the digest, the model version or the Argo CD app);
// - the pod template changes only when what runs in the pod changes, so nothing that varies per
//   commit or per Argo CD app (revision, app name, cluster) goes into it.
import type { ModelDeployment } from '../spec/types.js';
import type { RenderContext } from './types.js';

export const MANAGED_BY = 'modelpin';
export const COMPONENT = 'model-server';

export function selectorLabels(spec: ModelDeployment): Record<string, string> {
  return {
    'app.kubernetes.io/name': spec.metadata.name,
    'app.kubernetes.io/instance': spec.metadata.name,
  };
}

/** Labels every object carries: the user's labels, then the standard ones (which win). */
export function objectLabels(spec: ModelDeployment, ctx: RenderContext): Record<string, string> {
  return sortKeys({
    ...(spec.metadata.labels ?? {}),
    ...selectorLabels(spec),
    'app.kubernetes.io/component': COMPONENT,
    'app.kubernetes.io/part-of': ctx.appName ?? spec.metadata.name,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  });
}

/** Pod template labels: like objectLabels minus part-of (it follows the Argo CD app name, which must not restart pods). */
export function podLabels(spec: ModelDeployment): Record<string, string> {
  return sortKeys({
    ...(spec.metadata.labels ?? {}),
    ...selectorLabels(spec),
    'app.kubernetes.io/component': COMPONENT,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  });
}

/** Annotations on every object: the user's, plus which cluster overlay was applied. */
export function objectAnnotations(spec: ModelDeployment, ctx: RenderContext): Record<string, string> | undefined {
  const a: Record<string, string> = { ...(spec.metadata.annotations ?? {}) };
  if (ctx.cluster !== undefined) a['modelpin.dev/cluster'] = ctx.cluster;
  return Object.keys(a).length > 0 ? sortKeys(a) : undefined;
}

export function sortKeys<V>(o: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k] as V;
  return out;
}

/** metadata in the conventional key order: name, namespace, labels, annotations. */
export function objectMeta(
  name: string,
  namespace: string | undefined,
  labels: Record<string, string>,
  annotations?: Record<string, string>,
): { name: string; namespace?: string; labels: Record<string, string>; annotations?: Record<string, string> } {
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    labels,
    ...(annotations === undefined ? {} : { annotations }),
  };
}

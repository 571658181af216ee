// Render warnings on the workload, where the Argo CD UI shows them. A plugin's stderr reaches the
// UI only when the command fails, so a warning (an image not pinned by digest) would otherwise be
// seen by nobody but a user running `modelpin render` by hand. The Deployment/Rollout carries them
// in one annotation, in the live manifest and the app diff. It goes on the workload's own
// metadata, never the pod template: fixing a warning must not restart pods. Pure.
import type { Problem } from '../errors.js';
import { sortKeys } from './labels.js';
import type { K8sObject } from './types.js';

export const WARNINGS_ANNOTATION = 'modelpin.dev/warnings';

/**
 * One line per warning: `<code> at <field path>: <message> (fix: <hint>)`, in the order given
 * (the parser's, by position). No file name or line: the value must not depend on the path render
 * was run with, or on an edit elsewhere in the file.
 */
export function formatWarnings(warnings: readonly Problem[]): string {
  return warnings.map((w) => `${w.code}${w.path ? ` at ${w.path}` : ''}: ${w.message}${w.hint ? ` (fix: ${w.hint})` : ''}`).join('\n');
}

/** The objects with the warnings annotated on the Deployment or Rollout; unchanged when there are none. */
export function annotateWarnings(objects: readonly K8sObject[], warnings: readonly Problem[]): readonly K8sObject[] {
  if (warnings.length === 0) return objects;
  const value = formatWarnings(warnings);
  return objects.map((o) => {
    if (!(o.kind === 'Deployment' && o.apiVersion === 'apps/v1') && !(o.kind === 'Rollout' && o.apiVersion === 'argoproj.io/v1alpha1')) return o;
    const annotations = sortKeys({ ...((o.metadata.annotations as Record<string, string> | undefined) ?? {}), [WARNINGS_ANNOTATION]: value });
    // Rebuilt in the conventional key order (name, namespace, labels, annotations).
    const { annotations: _old, ...rest } = o.metadata;
    return { ...o, metadata: { ...rest, annotations } };
  });
}

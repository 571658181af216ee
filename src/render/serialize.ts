// Deterministic output for rendered objects. Key order is the objects' own insertion order
// (render builds them in Kubernetes-conventional order); no timestamps, no anchors, no folding.
//
// YAML comes from a small emitter (./yaml-emit.ts) that quotes every string a YAML 1.1 reader
// (Argo CD and kubectl use sigs.k8s.io/yaml) would misread — "yes", "on", "0755", "1:30".
import { ModelpinError } from '../errors.js';
import { emitYaml } from './yaml-emit.js';
import type { K8sObject } from './types.js';

export type OutputFormat = 'yaml' | 'json';

function refuseEmpty(objects: readonly K8sObject[]): void {
  if (objects.length === 0) {
    throw new ModelpinError('MODELPIN_E_RENDER_EMPTY', 'rendering produced no objects', {
      hint: 'this is refused because Argo CD would prune every resource of the app; check the spec',
    });
  }
}

/** A YAML stream: every document starts with `---`, so streams concatenate safely. */
export function toYamlStream(objects: readonly K8sObject[]): string {
  refuseEmpty(objects);
  return objects
    .map((o) => '---\n' + emitYaml(o))
    .join('');
}

/** `kubectl get -o json` shape: a v1 List, which Argo CD and kubectl both flatten into its items. */
export function toJsonList(objects: readonly K8sObject[]): string {
  refuseEmpty(objects);
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2) + '\n';
}

export function serialize(objects: readonly K8sObject[], format: OutputFormat): string {
  return format === 'json' ? toJsonList(objects) : toYamlStream(objects);
}

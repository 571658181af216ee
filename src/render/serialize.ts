// Deterministic output for rendered objects. Key order is the objects' own insertion order
// (render builds them in Kubernetes-conventional order); no timestamps, no anchors, no folding.
//
// YAML is emitted with the YAML 1.1 schema so that strings a YAML 1.1 reader (Argo CD and kubectl
// use sigs.k8s.io/yaml) would misread — "yes", "on", "0755", "1:30" — come out quoted.
import { stringify } from 'yaml';
import { ModelpinError } from '../errors.js';
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
    .map((o) => '---\n' + stringify(o, { version: '1.1', lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false, indentSeq: true }))
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

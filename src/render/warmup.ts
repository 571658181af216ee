// Inline warm-up samples (spec.serving.warmup.samples) travel to the sidecar in a ConfigMap
// mounted as a file, read with --warmup-file. Its name carries a hash of the content, as
// kustomize's generators do: changed samples are a new ConfigMap, so the pod template changes and
// the pods roll (a ConfigMap edited in place would reach running pods never, or half of them).
import { createHash } from 'node:crypto';
import type { ModelDeployment } from '../spec/types.js';

export const WARMUP_DIR = '/etc/modelpin/warmup';
export const WARMUP_FILE = 'warmup.json';

export interface WarmupConfigMap {
  name: string;
  /** The samples as JSON, one body per line: stable bytes for the same samples. */
  json: string;
}

export function warmupConfigMap(spec: ModelDeployment): WarmupConfigMap | undefined {
  const samples = spec.spec.serving.warmup?.samples;
  if (samples === undefined) return undefined;
  const json = `[\n${samples.map((s) => JSON.stringify(s)).join(',\n')}\n]\n`;
  const hash = createHash('sha256').update(json).digest('hex').slice(0, 10);
  // metadata.name ≤ 63 so far (a DNS label) + "-warmup-" + 10: within the 253 a ConfigMap allows.
  return { name: `${spec.metadata.name}-warmup-${hash}`, json };
}

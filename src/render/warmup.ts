// Inline warm-up samples (spec.serving.warmup.samples) travel to the sidecar in a ConfigMap
// mounted as a file, read with --warmup-file. Its name carries a hash of the content, as
// kustomize's generators do: changed samples are a new ConfigMap, so the pod template changes and
// the pods roll (a ConfigMap edited in place would reach running pods never, or half of them).
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
  const hash = fnv1a64(json).slice(0, 10);
  // metadata.name ≤ 63 so far (a DNS label) + "-warmup-" + 10: within the 253 a ConfigMap allows.
  return { name: `${spec.metadata.name}-warmup-${hash}`, json };
}

/**
 * FNV-1a, 64-bit, as 16 hex digits. The name suffix only has to change when the samples do (a
 * content fingerprint, not a security check), and node:crypto would cost every render ~2.5 ms of
 * start-up in the plugin (Argo CD runs render for every manifest generation).
 */
export function fnv1a64(text: string): string {
  // Two 32-bit halves of the 64-bit state; multiplying by the FNV prime 0x100000001b3 is
  // "× 0x1b3, plus the low half shifted 40 bits into the high half".
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) {
    lo = (lo ^ b) >>> 0;
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    const newLo = loMul >>> 0;
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

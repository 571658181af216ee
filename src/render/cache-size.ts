// How big the cache emptyDir may grow. The sidecar writes the download next to its final place
// and renames it (onnx: ~1× the artifact, plus slack), and a tar is kept while it is extracted
// (archive + extracted files: ~2×). sizeLimit is a cap, not a reservation: exceeding it evicts
// the pod, so the factors leave headroom rather than fit tightly.
import type { ModelSection } from '../spec/types.js';

const MI = 1024 * 1024;
/** When spec.model.size is unknown: large enough for typical ONNX models, small enough to catch a runaway. */
export const DEFAULT_CACHE_SIZE_LIMIT = '10Gi';
/** Never below this: partial files and cache bookkeeping need room even for tiny models. */
const MIN_MI = 64;

export function cacheSizeLimit(model: ModelSection): string {
  if (model.size === undefined) return DEFAULT_CACHE_SIZE_LIMIT;
  const factor = model.format === 'tar' ? 2 : 1.2;
  const mi = Math.max(MIN_MI, Math.ceil((model.size * factor) / MI));
  return `${mi}Mi`;
}

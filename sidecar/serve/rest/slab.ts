// Float32Arrays for request tensors, carved from shared 64 KiB ArrayBuffers.
//
// Why: a typed array above V8's on-heap limit (64 bytes) gets its own off-heap backing store, and
// allocating and later sweeping one per request cost the server about an eighth of its throughput
// at high concurrency (measured with test/bench/serve.ts). A view on a shared buffer costs a small
// object. A slab lives until the last request tensor carved from it is collected; request tensors
// live for one request, so that is soon.
const SLAB_BYTES = 64 * 1024;
const MAX_CARVED = SLAB_BYTES / 8;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A zero-filled Float32Array of `count` elements (slabs are never reused). */
export function float32Array(count: number): Float32Array {
  const bytes = count * 4;
  if (bytes > MAX_CARVED) return new Float32Array(count);
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const a = new Float32Array(slab, used, count);
  // Keep every view 8-byte aligned, whatever the element type a later caller asks for.
  used += (bytes + 7) & ~7;
  return a;
}

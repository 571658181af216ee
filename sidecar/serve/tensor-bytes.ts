// The little-endian tensor layout shared by the REST binary tensor extension and gRPC's
// raw_input_contents / raw_output_contents: fixed-size elements back to back, and BYTES elements
// each as a 4-byte little-endian length followed by that many bytes.
import type { TensorData } from './datatypes.js';
import type { TensorSpec } from './signature.js';
import { bad, bytesElement, shapeText } from './validate.js';

/** Decode one input tensor's raw bytes (`count` elements of `spec`'s type), validating the size. */
export function fromRawBytes(bytes: Uint8Array, spec: TensorSpec, count: number, dims: readonly number[]): TensorData {
  const type = spec.type;
  if (!type.array) {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = 0;
    while (off < bytes.length) {
      if (out.length >= count) throw bad(`input '${spec.name}': binary data has more than the ${count} BYTES elements shape ${shapeText(dims)} needs`);
      if (off + 4 > bytes.length) throw bad(`input '${spec.name}': truncated BYTES element length at byte ${off} of its binary data`);
      const len = view.getUint32(off, true);
      off += 4;
      if (len > bytes.length - off) throw bad(`input '${spec.name}': BYTES element ${out.length} claims ${len} bytes but only ${bytes.length - off} remain`);
      out.push(bytesElement(spec, out.length, bytes.subarray(off, off + len)));
      off += len;
    }
    if (out.length !== count) throw bad(`input '${spec.name}': binary data has ${out.length} BYTES elements but shape ${shapeText(dims)} needs ${count}`);
    return out;
  }
  const want = count * type.size;
  if (bytes.length !== want) throw bad(`input '${spec.name}': binary data is ${bytes.length} bytes but shape ${shapeText(dims)} of ${type.v2} needs ${want}`);
  const out = new type.array(count);
  // Copy (rather than view) so the tensor is aligned and owns its buffer (it may go to a worker).
  new Uint8Array(out.buffer).set(bytes);
  if (type.v2 === 'BOOL') for (let i = 0; i < count; i++) if ((out as Uint8Array)[i]! > 1) (out as Uint8Array)[i] = 1;
  return out;
}

/** One output tensor's data in the raw layout. */
export function toRawBytes(spec: TensorSpec, data: TensorData): Buffer {
  if (spec.type.array) {
    const a = data as Uint8Array;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  }
  const strings = data as string[];
  let total = 0;
  const encoded = strings.map((s) => {
    const b = Buffer.from(s, 'utf8');
    total += 4 + b.length;
    return b;
  });
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const b of encoded) {
    out.writeUInt32LE(b.length, off);
    b.copy(out, off + 4);
    off += 4 + b.length;
  }
  return out;
}

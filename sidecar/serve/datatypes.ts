// The Open Inference Protocol's datatypes and how each maps onto ONNX Runtime tensor types.
// One table, so the codec, the batcher and the metadata endpoint agree on every type.

export type V2Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** onnxruntime-node's Tensor type strings for the types above. */
export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

/** The storage a tensor's data lives in (FP16 is raw IEEE half bits in a Uint16Array; BOOL is bytes). */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | string[];

type NumericArrayCtor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | BigUint64ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export interface TypeInfo {
  v2: V2Datatype;
  ort: OrtType;
  /** Bytes per element in the binary extension (0 = variable: BYTES). */
  size: number;
  /** Typed array for numeric storage; undefined for BYTES (string[]). */
  array?: NumericArrayCtor;
  /** Integer range for validation of JSON input (inclusive), when the type is an integer type. */
  int?: { min: number | bigint; max: number | bigint; big: boolean };
}

export const TYPES: readonly TypeInfo[] = [
  { v2: 'BOOL', ort: 'bool', size: 1, array: Uint8Array },
  { v2: 'UINT8', ort: 'uint8', size: 1, array: Uint8Array, int: { min: 0, max: 255, big: false } },
  { v2: 'UINT16', ort: 'uint16', size: 2, array: Uint16Array, int: { min: 0, max: 65535, big: false } },
  { v2: 'UINT32', ort: 'uint32', size: 4, array: Uint32Array, int: { min: 0, max: 4294967295, big: false } },
  { v2: 'UINT64', ort: 'uint64', size: 8, array: BigUint64Array, int: { min: 0n, max: 18446744073709551615n, big: true } },
  { v2: 'INT8', ort: 'int8', size: 1, array: Int8Array, int: { min: -128, max: 127, big: false } },
  { v2: 'INT16', ort: 'int16', size: 2, array: Int16Array, int: { min: -32768, max: 32767, big: false } },
  { v2: 'INT32', ort: 'int32', size: 4, array: Int32Array, int: { min: -2147483648, max: 2147483647, big: false } },
  {
    v2: 'INT64',
    ort: 'int64',
    size: 8,
    array: BigInt64Array,
    int: { min: -9223372036854775808n, max: 9223372036854775807n, big: true },
  },
  { v2: 'FP16', ort: 'float16', size: 2, array: Uint16Array },
  { v2: 'FP32', ort: 'float32', size: 4, array: Float32Array },
  { v2: 'FP64', ort: 'float64', size: 8, array: Float64Array },
  { v2: 'BYTES', ort: 'string', size: 0 },
];

const BY_ORT = new Map<string, TypeInfo>(TYPES.map((t) => [t.ort, t]));
const BY_V2 = new Map<string, TypeInfo>(TYPES.map((t) => [t.v2, t]));

/** The type info for an ONNX Runtime type string, or undefined for types V2 cannot carry (e.g. bfloat16). */
export function typeFromOrt(ort: string): TypeInfo | undefined {
  return BY_ORT.get(ort);
}

export function typeFromV2(v2: string): TypeInfo | undefined {
  return BY_V2.get(v2);
}

// --- IEEE 754 half precision (Node 20 has no Float16Array / Math.f16round) -----------------------
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Round a number to the nearest half-precision value (ties to even) and return its bits. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  // Re-bias the exponent from float32 (127) to float16 (15).
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit bit in, rounding to even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Rounding may carry into the exponent, which is the correct result (up to Inf).
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

/** The number a half-precision bit pattern represents. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ModelInferRequest → the protocol-neutral DecodedRequest, and outputs → ModelInferResponse.
// Names, datatypes, shapes, counts, BYTES contents, output selection and the batch dimension are
// checked by ../validate.ts and ../tensor-bytes.ts, exactly as for REST; this file only knows
// where those values sit in the protobuf messages: typed `contents` (one repeated field per
// datatype family) or `raw_input_contents` (one little-endian blob per input, in input order).
import { quote } from '../../../src/quote.js';
import type { TensorData, TypeInfo } from '../datatypes.js';
import type { Feed, OutputTensor } from '../executor.js';
import type { Signature, TensorSpec } from '../signature.js';
import { fromRawBytes, toRawBytes } from '../tensor-bytes.js';
import {
  assemble,
  bad,
  bytesElement,
  checkDatatype,
  checkShape,
  elementCount,
  inputIndex,
  missingInput,
  outputIndex,
  shapeText,
  type DecodedRequest,
  type RequestRules,
} from '../validate.js';
import { decode, encodeFast, Long, T } from './messages.js';

/** InferTensorContents as decoded (repeated fields absent when empty). */
export interface ContentsMsg {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Long[];
  uint_contents?: number[];
  uint64_contents?: Long[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferRequestMsg {
  model_name: string;
  model_version: string;
  id: string;
  inputs: { name: string; datatype: string; shape: (Long | number)[]; contents?: ContentsMsg | null }[];
  outputs: { name: string }[];
  raw_input_contents: Uint8Array[];
}

type ContentsField = keyof ContentsMsg;

/** Where each datatype's typed contents go (FP16 has no typed field: raw contents only). */
const FIELD: Record<string, ContentsField | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};
const FIELDS = Object.keys({
  bool_contents: 0,
  int_contents: 0,
  int64_contents: 0,
  uint_contents: 0,
  uint64_contents: 0,
  fp32_contents: 0,
  fp64_contents: 0,
  bytes_contents: 0,
} satisfies Record<ContentsField, 0>) as ContentsField[];

/** The protobuf envelope; a message that is not a ModelInferRequest is the client's mistake. */
export function decodeInferMessage(bytes: Uint8Array): InferRequestMsg {
  try {
    return decode<InferRequestMsg>(T.ModelInferRequest, bytes);
  } catch (err) {
    throw bad(`the request is not a valid ModelInferRequest message: ${(err as Error).message}`);
  }
}

/** A request's tensors after validation, and whether the response carries raw contents. */
export interface GrpcDecoded {
  req: DecodedRequest;
  raw: boolean;
}

export function decodeInferTensors(msg: InferRequestMsg, sig: Signature, rules: RequestRules): GrpcDecoded {
  const reqInputs = msg.inputs;
  if (reqInputs.length === 0) throw bad('"inputs" must be a non-empty list of tensors');
  const raws = msg.raw_input_contents;
  const raw = raws.length > 0;
  if (raw && raws.length !== reqInputs.length) {
    throw bad(`raw_input_contents has ${raws.length} entries but the request has ${reqInputs.length} inputs; give one per input, in the order of "inputs"`);
  }
  const inputs = new Array<Feed | undefined>(sig.inputs.length);
  for (let i = 0; i < reqInputs.length; i++) {
    const t = reqInputs[i]!;
    const idx = inputIndex(sig, t.name, `inputs[${i}]`);
    const spec = sig.inputs[idx]!;
    if (inputs[idx] !== undefined) throw bad(`input '${spec.name}' is given more than once`);
    checkDatatype(t.datatype, spec);
    const dims = checkShape(t.shape.map(toNumber), spec);
    const count = elementCount(dims);
    let data: TensorData;
    if (raw) {
      const used = t.contents ? FIELDS.find((f) => (t.contents![f]?.length ?? 0) > 0) : undefined;
      if (used) throw bad(`input '${spec.name}' has ${used} but the request also has raw_input_contents; send every input one way`);
      data = fromRawBytes(raws[i]!, spec, count, dims);
    } else {
      data = fromContents(t.contents ?? {}, spec, count, dims);
    }
    inputs[idx] = { data, dims };
  }
  missingInput(sig, inputs);

  const outputs: number[] = [];
  if (msg.outputs.length === 0) for (let i = 0; i < sig.outputs.length; i++) outputs.push(i);
  else for (let i = 0; i < msg.outputs.length; i++) outputs.push(outputIndex(sig, msg.outputs[i]!.name, `outputs[${i}]`));
  // Raw contents answer raw contents (what tritonclient reads); FP16 has no typed field at all,
  // and raw_output_contents cannot be given for some outputs only.
  const rawOut = raw || outputs.some((o) => sig.outputs[o]!.type.v2 === 'FP16');
  return { req: assemble(sig, inputs as Feed[], outputs, outputs.map(() => rawOut), rules, undefined), raw: rawOut };
}

/** A shape entry as a number; values beyond 2^53 come out unsafe, which checkShape refuses. */
function toNumber(d: Long | number): number {
  return typeof d === 'number' ? d : d.toNumber();
}

function fromContents(c: ContentsMsg, spec: TensorSpec, count: number, dims: number[]): TensorData {
  const type = spec.type;
  const field = FIELD[type.v2];
  if (field === undefined) throw bad(`input '${spec.name}' is ${type.v2}, which has no typed contents field; send it in raw_input_contents`);
  for (const f of FIELDS) {
    if (f !== field && (c[f]?.length ?? 0) > 0) throw bad(`input '${spec.name}' is ${type.v2} but its data is in ${f}; ${type.v2} data goes in ${field}`);
  }
  const values = (c[field] ?? []) as unknown[];
  if (values.length !== count) throw bad(`input '${spec.name}': ${field} has ${values.length} elements but shape ${shapeText(dims)} needs ${count}`);
  switch (type.v2) {
    case 'BYTES': {
      const out = new Array<string>(count);
      for (let k = 0; k < count; k++) out[k] = bytesElement(spec, k, values[k] as Uint8Array);
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(count);
      for (let k = 0; k < count; k++) out[k] = values[k] ? 1 : 0;
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const out = new type.array!(count) as BigInt64Array | BigUint64Array;
      const unsigned = type.v2 === 'UINT64';
      for (let k = 0; k < count; k++) out[k] = toBigInt(values[k] as Long | number, unsigned);
      return out;
    }
    case 'FP32':
    case 'FP64': {
      const out = new type.array!(count) as Float32Array | Float64Array;
      for (let k = 0; k < count; k++) out[k] = values[k] as number;
      return out;
    }
    default:
      return smallInts(values as number[], spec, type, count);
  }
}

/** INT8/16/32 from int_contents, UINT8/16/32 from uint_contents: range-checked like REST data. */
function smallInts(values: number[], spec: TensorSpec, type: TypeInfo, count: number): TensorData {
  const { min, max } = type.int!;
  const out = new type.array!(count) as Int32Array;
  for (let k = 0; k < count; k++) {
    const v = values[k]!;
    if (v < (min as number) || v > (max as number)) {
      throw bad(`input '${spec.name}': element ${k} (${quote(v)}) is not a valid ${type.v2} value (integers from ${min} to ${max})`);
    }
    out[k] = v;
  }
  return out;
}

function toBigInt(v: Long | number, unsigned: boolean): bigint {
  if (typeof v === 'number') return BigInt(v);
  const b = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned ? b : BigInt.asIntN(64, b);
}

// --- responses -------------------------------------------------------------------------------

export interface ResponseHead {
  model_name: string;
  model_version: string;
}

/** The ModelInferResponse for `req`'s requested outputs, raw or typed as decided at decode. */
export function encodeInferResponse(head: ResponseHead, id: string, sig: Signature, d: GrpcDecoded, outs: readonly OutputTensor[]): Buffer {
  const outputs: Record<string, unknown>[] = [];
  const raws: Buffer[] = [];
  for (const idx of d.req.outputs) {
    const spec = sig.outputs[idx]!;
    const t = outs[idx]!;
    const o: Record<string, unknown> = { name: spec.name, datatype: spec.type.v2, shape: t.dims };
    if (d.raw) raws.push(toRawBytes(spec, t.data));
    else o.contents = toContents(spec, t.data);
    outputs.push(o);
  }
  return encodeFast(T.ModelInferResponse, { ...head, id, outputs, raw_output_contents: raws });
}

function toContents(spec: TensorSpec, data: TensorData): ContentsMsg | Record<string, unknown> {
  const field = FIELD[spec.type.v2]!;
  switch (spec.type.v2) {
    case 'BYTES':
      return { [field]: (data as string[]).map((s) => Buffer.from(s, 'utf8')) };
    case 'BOOL':
      return { [field]: Array.from(data as Uint8Array, (v) => v !== 0) };
    case 'INT64':
    case 'UINT64': {
      // Little-endian halves, straight from the 64-bit array's memory: exact, no BigInt maths.
      const a = data as BigInt64Array;
      const halves = new Int32Array(a.buffer, a.byteOffset, a.length * 2);
      const unsigned = spec.type.v2 === 'UINT64';
      const out = new Array<Long>(a.length);
      for (let k = 0; k < a.length; k++) out[k] = Long.fromBits(halves[2 * k]!, halves[2 * k + 1]!, unsigned);
      return { [field]: out };
    }
    default:
      // Typed arrays are array-like; protobufjs's encoder only indexes them.
      return { [field]: data };
  }
}

// The Open Inference Protocol request/response codec, JSON and the binary tensor extension.
// Every rejection is an HttpError with a message naming the tensor, the offending value and
// what the model expects, because a 400 is only useful when the caller can fix the request.
import { fromHalfBits, toHalfBits, type TensorData, type TypeInfo } from './datatypes.js';
import { fastDecode } from './fast-decode.js';
import { JsonSyntaxError, parseJson } from './json.js';
import { float32Array } from './slab.js';
import type { LoadedModel, TensorSpec } from './model.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

const bad = (msg: string): HttpError => new HttpError(400, msg);

export interface DecodedTensor {
  data: TensorData;
  dims: number[];
}

export interface DecodedRequest {
  /** The request id re-encoded as JSON, echoed verbatim in the response. */
  idJson?: string;
  /** Inputs in the model's input order. */
  inputs: DecodedTensor[];
  /** Requested outputs (model output indices) in the order the response lists them. */
  outputs: number[];
  /** Per requested output: send its data in the binary section. */
  binary: boolean[];
  /** Size of the shared leading dimension (rows), for batching. */
  rows: number;
  /** Non-leading dims of every input, when those are not all fixed: requests batch only with equal keys. */
  key: string;
}

export interface DecodeOptions {
  /** Length of the JSON header when the binary extension is used (Inference-Header-Content-Length). */
  headerLength?: number;
  batching: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const shapeText = (s: readonly number[]): string => `[${s.join(',')}]`;

export function decodeRequest(body: Buffer, model: LoadedModel, opts: DecodeOptions): DecodedRequest {
  if (opts.headerLength === undefined && model.allFp32Inputs) {
    const fast = fastDecode(body, model, opts.batching);
    if (fast) return fast;
  }
  return decodeGeneral(body, model, opts);
}

/** Every request the one-pass decoder declines: any shape, datatype or mistake, with the precise 400. */
export function decodeGeneral(body: Buffer, model: LoadedModel, opts: DecodeOptions): DecodedRequest {
  let text: string;
  let binary: Buffer | undefined;
  if (opts.headerLength !== undefined) {
    if (opts.headerLength > body.length) {
      throw bad(`Inference-Header-Content-Length is ${opts.headerLength} but the body has only ${body.length} bytes`);
    }
    text = body.toString('utf8', 0, opts.headerLength);
    binary = body.subarray(opts.headerLength);
  } else {
    text = body.toString('utf8');
  }
  let req: unknown;
  try {
    req = parseJson(text, model.needsExactInts);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw bad(`malformed JSON in the request body: ${err.message}`);
    throw err;
  }
  if (!isObject(req)) throw bad('the request body must be a JSON object with an "inputs" array');
  const rawInputs = req.inputs;
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) throw bad('"inputs" must be a non-empty array of tensors');

  const inputs = new Array<DecodedTensor | undefined>(model.inputs.length);
  let binOffset = 0;
  for (let i = 0; i < rawInputs.length; i++) {
    const raw: unknown = rawInputs[i];
    if (!isObject(raw)) throw bad(`inputs[${i}] must be an object with name, datatype, shape and data`);
    const name = raw.name;
    if (typeof name !== 'string') throw bad(`inputs[${i}].name must be a string`);
    const idx = model.inputIndex.get(name);
    if (idx === undefined) {
      throw bad(`unknown input '${name}'; the model's inputs are: ${model.inputs.map((t) => t.name).join(', ')}`);
    }
    if (inputs[idx] !== undefined) throw bad(`input '${name}' is given more than once`);
    const spec = model.inputs[idx]!;
    if (raw.datatype !== spec.type.v2) {
      throw bad(`input '${name}' has datatype ${JSON.stringify(raw.datatype)} but the model expects ${spec.type.v2}`);
    }
    const dims = checkShape(raw.shape, spec);
    let count = 1;
    for (const d of dims) count *= d;
    const params = raw.parameters;
    const binSize = isObject(params) ? params.binary_data_size : undefined;
    let data: TensorData;
    if (binSize !== undefined) {
      if (binary === undefined) throw bad(`input '${name}' has binary_data_size but the request has no Inference-Header-Content-Length header`);
      if (!Number.isSafeInteger(binSize) || (binSize as number) < 0) throw bad(`input '${name}': binary_data_size must be a non-negative integer`);
      const size = binSize as number;
      if (binOffset + size > binary.length) {
        throw bad(`input '${name}': binary_data_size ${size} runs past the end of the body (${binary.length - binOffset} bytes left)`);
      }
      data = fromBinary(binary.subarray(binOffset, binOffset + size), spec, count, dims);
      binOffset += size;
    } else {
      if (raw.data === undefined) throw bad(`input '${name}' has no "data" (and no binary_data_size parameter)`);
      // Every element takes at least one byte of the body: a shape that needs more cannot be
      // filled, and must be refused before its tensor is allocated.
      if (count > text.length) throw bad(`input '${name}': data has ${leafCount(raw.data)} elements but shape ${shapeText(dims)} needs ${count}`);
      data = fromJson(raw.data, spec, count, dims);
    }
    inputs[idx] = { data, dims };
  }
  if (binary !== undefined && binOffset !== binary.length) {
    throw bad(`the binary section has ${binary.length - binOffset} bytes beyond the inputs' binary_data_size values`);
  }
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i] === undefined) throw bad(`missing input '${model.inputs[i]!.name}'; the model needs: ${model.inputs.map((t) => t.name).join(', ')}`);
  }
  const decoded = inputs as DecodedTensor[];

  // Outputs: all of them unless the request selects some.
  const reqParams = req.parameters;
  const binaryAll = isObject(reqParams) && reqParams.binary_data_output === true;
  let outputs: number[];
  let binaryOut: boolean[];
  if (req.outputs === undefined) {
    outputs = model.outputs.map((_, i) => i);
    binaryOut = outputs.map(() => binaryAll);
  } else {
    if (!Array.isArray(req.outputs)) throw bad('"outputs" must be an array of {"name": ...} objects');
    outputs = [];
    binaryOut = [];
    for (let i = 0; i < req.outputs.length; i++) {
      const o: unknown = req.outputs[i];
      if (!isObject(o) || typeof o.name !== 'string') throw bad(`outputs[${i}] must be an object with a string "name"`);
      const idx = model.outputIndex.get(o.name);
      if (idx === undefined) {
        throw bad(`unknown output '${o.name}'; the model's outputs are: ${model.outputs.map((t) => t.name).join(', ')}`);
      }
      outputs.push(idx);
      const p = o.parameters;
      binaryOut.push(isObject(p) && typeof p.binary_data === 'boolean' ? p.binary_data : binaryAll);
    }
  }

  if (req.id !== undefined && typeof req.id !== 'string') throw bad('"id" must be a string');
  return assemble(model, decoded, outputs, binaryOut, opts.batching, req.id === undefined ? undefined : JSON.stringify(req.id));
}

/** The decoded request with its batching rows and key; shared by the general and the fast decoder. */
export function assemble(
  model: LoadedModel,
  inputs: DecodedTensor[],
  outputs: number[],
  binary: boolean[],
  batching: boolean,
  idJson: string | undefined,
): DecodedRequest {
  let rows = 0;
  let key = '';
  if (batching) {
    rows = inputs[0]!.dims[0]!;
    for (let i = 1; i < inputs.length; i++) {
      if (inputs[i]!.dims[0] !== rows) {
        throw bad(
          `inputs disagree on the batch dimension: '${model.inputs[0]!.name}' has ${rows} rows but '${model.inputs[i]!.name}' has ${inputs[i]!.dims[0]}`,
        );
      }
    }
    if (!model.fixedTrailingDims) key = inputs.map((t) => t.dims.slice(1).join(',')).join(';');
  }
  const out: DecodedRequest = { inputs, outputs, binary, rows, key };
  if (idJson !== undefined) out.idJson = idJson;
  return out;
}

function checkShape(shape: unknown, spec: TensorSpec): number[] {
  if (!Array.isArray(shape)) throw bad(`input '${spec.name}': "shape" must be an array of non-negative integers`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) {
      throw bad(`input '${spec.name}': "shape" must be an array of non-negative integers, got ${JSON.stringify(shape, bigintJson)}`);
    }
  }
  const dims = shape as number[];
  if (dims.length !== spec.shape.length) {
    throw bad(
      `input '${spec.name}' has rank ${dims.length} (shape ${shapeText(dims)}) but the model expects rank ${spec.shape.length} (shape ${shapeText(spec.shape)})`,
    );
  }
  for (let i = 0; i < dims.length; i++) {
    const want = spec.shape[i]!;
    if (want >= 0 && dims[i] !== want) {
      throw bad(`input '${spec.name}': dimension ${i} is ${dims[i]} but the model requires ${want} (shape ${shapeText(spec.shape)})`);
    }
  }
  return dims;
}

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

// --- JSON data → typed arrays ---------------------------------------------------------------

/** Elements in (possibly nested) JSON data; iterative, so hostile nesting cannot exhaust the stack. */
function leafCount(data: unknown): number {
  let n = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else n++;
  }
  return n;
}

class Filler {
  k = 0;
  constructor(
    readonly spec: TensorSpec,
    readonly count: number,
    readonly dims: number[],
    readonly put: (v: unknown, k: number) => boolean,
  ) {}

  fill(arr: unknown[], depth = 1): void {
    // Nesting deeper than the rank cannot be row-major data for this shape (and would recurse deeply).
    if (depth > Math.max(1, this.dims.length)) {
      throw bad(`input '${this.spec.name}': data is nested ${depth} levels deep but shape ${shapeText(this.dims)} has rank ${this.dims.length}`);
    }
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      if (Array.isArray(v)) {
        this.fill(v, depth + 1);
        continue;
      }
      if (this.k >= this.count) throw this.lengthError(this.k + 1 + '+');
      if (!this.put(v, this.k)) {
        const t = this.spec.type;
        throw bad(
          `input '${this.spec.name}': element ${this.k} (${JSON.stringify(v, bigintJson) ?? String(v)}) is not a valid ${t.v2} value${t.int ? ` (integers from ${t.int.min} to ${t.int.max})` : ''}`,
        );
      }
      this.k++;
    }
  }

  lengthError(got: number | string): HttpError {
    return bad(`input '${this.spec.name}': data has ${got} elements but shape ${shapeText(this.dims)} needs ${this.count}`);
  }
}

function toFloat(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === 'NaN') return NaN;
  if (v === 'Infinity' || v === 'inf') return Infinity;
  if (v === '-Infinity' || v === '-inf') return -Infinity;
  return undefined;
}

function putterFor(type: TypeInfo, out: TensorData): (v: unknown, k: number) => boolean {
  switch (type.v2) {
    case 'FP32':
    case 'FP64': {
      const a = out as Float32Array | Float64Array;
      return (v, k) => {
        const f = toFloat(v);
        if (f === undefined) return false;
        a[k] = f;
        return true;
      };
    }
    case 'FP16': {
      const a = out as Uint16Array;
      return (v, k) => {
        const f = toFloat(v);
        if (f === undefined) return false;
        a[k] = toHalfBits(f);
        return true;
      };
    }
    case 'BOOL': {
      const a = out as Uint8Array;
      return (v, k) => {
        if (v === true || v === 1) a[k] = 1;
        else if (v === false || v === 0) a[k] = 0;
        else return false;
        return true;
      };
    }
    case 'BYTES': {
      const a = out as string[];
      return (v, k) => {
        if (typeof v !== 'string') return false;
        a[k] = v;
        return true;
      };
    }
    case 'INT64':
    case 'UINT64': {
      const a = out as BigInt64Array | BigUint64Array;
      const { min, max } = type.int!;
      return (v, k) => {
        let b: bigint;
        if (typeof v === 'bigint') b = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        else return false;
        if (b < min || b > max) return false;
        a[k] = b;
        return true;
      };
    }
    default: {
      const a = out as Int32Array;
      const { min, max } = type.int!;
      return (v, k) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < (min as number) || v > (max as number)) return false;
        a[k] = v;
        return true;
      };
    }
  }
}

function fromJson(data: unknown, spec: TensorSpec, count: number, dims: number[]): TensorData {
  const type = spec.type;
  // Fast path: a flat FP32 array of plain numbers (the common case) needs no per-element closure.
  if (type.v2 === 'FP32' && Array.isArray(data) && data.length === count) {
    const a = float32Array(count);
    let ok = true;
    for (let i = 0; i < count; i++) {
      const v = data[i];
      if (typeof v !== 'number') {
        ok = false;
        break;
      }
      a[i] = v;
    }
    if (ok) return a;
  }
  const out: TensorData = type.array ? new type.array(count) : new Array<string>(count);
  const filler = new Filler(spec, count, dims, putterFor(type, out));
  // A scalar may be sent bare ("data": 3) as well as in a one-element array.
  filler.fill(Array.isArray(data) ? data : [data]);
  if (filler.k !== count) throw filler.lengthError(filler.k);
  return out;
}

// --- binary extension ------------------------------------------------------------------------

function fromBinary(bytes: Buffer, spec: TensorSpec, count: number, dims: number[]): TensorData {
  const type = spec.type;
  if (!type.array) {
    // BYTES: each element is a 4-byte little-endian length followed by that many bytes.
    const out: string[] = [];
    let off = 0;
    while (off < bytes.length) {
      if (off + 4 > bytes.length) throw bad(`input '${spec.name}': truncated BYTES element length at byte ${off} of its binary data`);
      const len = bytes.readUInt32LE(off);
      off += 4;
      if (off + len > bytes.length) throw bad(`input '${spec.name}': BYTES element ${out.length} claims ${len} bytes but only ${bytes.length - off} remain`);
      out.push(bytes.toString('utf8', off, off + len));
      off += len;
    }
    if (out.length !== count) throw bad(`input '${spec.name}': binary data has ${out.length} BYTES elements but shape ${shapeText(dims)} needs ${count}`);
    return out;
  }
  const want = count * type.size;
  if (bytes.length !== want) {
    throw bad(`input '${spec.name}': binary_data_size is ${bytes.length} bytes but shape ${shapeText(dims)} of ${type.v2} needs ${want}`);
  }
  const out = new type.array(count);
  // Copy (rather than view) so the tensor is aligned and independent of the request buffer.
  new Uint8Array(out.buffer).set(bytes);
  if (type.v2 === 'BOOL') for (let i = 0; i < count; i++) if ((out as Uint8Array)[i]! > 1) (out as Uint8Array)[i] = 1;
  return out;
}

// --- responses -------------------------------------------------------------------------------

export interface OutputTensor {
  data: TensorData;
  dims: readonly number[];
}

function numbersJson(a: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    const t = Number.isFinite(v) ? String(v) : v !== v ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
    s += i === 0 ? t : ',' + t;
  }
  return s;
}

export function dataJson(type: TypeInfo, data: TensorData): string {
  switch (type.v2) {
    case 'FP32':
    case 'FP64':
      return numbersJson(data as Float32Array);
    case 'FP16': {
      const a = data as Uint16Array;
      const f = new Float64Array(a.length);
      for (let i = 0; i < a.length; i++) f[i] = fromHalfBits(a[i]!);
      return numbersJson(f);
    }
    case 'BOOL': {
      const a = data as Uint8Array;
      let s = '';
      for (let i = 0; i < a.length; i++) s += (i === 0 ? '' : ',') + (a[i] ? 'true' : 'false');
      return s;
    }
    case 'BYTES':
      return JSON.stringify(data).slice(1, -1);
    default:
      return (data as Int32Array).join(',');
  }
}

export function binaryData(type: TypeInfo, data: TensorData): Buffer {
  if (type.array) {
    const a = data as Uint8Array;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  }
  const parts: Buffer[] = [];
  for (const s of data as string[]) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(b.length, 0);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

export interface EncodedResponse {
  body: string | Buffer;
  /** Set when the binary extension is used: the JSON header's byte length. */
  headerLength?: number;
}

/** Encode the response; `head` is the precomputed `{"model_name":...,"model_version":...` prefix. */
export function encodeResponse(head: string, model: LoadedModel, req: DecodedRequest, outs: OutputTensor[]): EncodedResponse {
  let json = req.idJson === undefined ? head : `${head},"id":${req.idJson}`;
  json += ',"outputs":[';
  let bin: Buffer[] | undefined;
  for (let i = 0; i < req.outputs.length; i++) {
    const idx = req.outputs[i]!;
    const spec = model.outputs[idx]!;
    const t = outs[idx]!;
    if (i > 0) json += ',';
    json += spec.jsonHead + t.dims.join(',');
    if (req.binary[i]) {
      const b = binaryData(spec.type, t.data);
      (bin ??= []).push(b);
      json += `],"parameters":{"binary_data_size":${b.length}}}`;
    } else {
      json += '],"data":[' + dataJson(spec.type, t.data) + ']}';
    }
  }
  json += ']}';
  if (!bin) return { body: json };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...bin]), headerLength: header.length };
}

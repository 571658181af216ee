// The Open Inference Protocol's REST body codec: JSON, and the binary tensor extension. Shape,
// name and datatype rules come from ../validate.ts (shared with gRPC); this file only knows
// where those values sit in a JSON body and how a response is written.
import { quote } from '../../../src/quote.js';
import { fromHalfBits, toHalfBits, type TensorData, type TypeInfo } from '../datatypes.js';
import type { Feed, OutputTensor } from '../executor.js';
import type { Signature, TensorSpec } from '../signature.js';
import { fromRawBytes, toRawBytes } from '../tensor-bytes.js';
import {
  assemble,
  bad,
  checkBytesElement,
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
import { fastDecode } from './fast-decode.js';
import { JsonSyntaxError, parseJson } from './json.js';
import { float32Array } from './slab.js';

export type { DecodedRequest, OutputTensor };

export interface DecodeOptions {
  /** Length of the JSON header when the binary extension is used (Inference-Header-Content-Length). */
  headerLength?: number;
  rules: RequestRules;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeRequest(body: Buffer, model: Signature, opts: DecodeOptions): DecodedRequest {
  if (opts.headerLength === undefined && model.allFp32Inputs) {
    const fast = fastDecode(body, model, opts.rules);
    if (fast) return fast;
  }
  return decodeGeneral(body, model, opts);
}

/** Every request the one-pass decoder declines: any shape, datatype or mistake, with the precise 400. */
export function decodeGeneral(body: Buffer, model: Signature, opts: DecodeOptions): DecodedRequest {
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

  const inputs = new Array<Feed | undefined>(model.inputs.length);
  let binOffset = 0;
  for (let i = 0; i < rawInputs.length; i++) {
    const raw: unknown = rawInputs[i];
    if (!isObject(raw)) throw bad(`inputs[${i}] must be an object with name, datatype, shape and data`);
    const idx = inputIndex(model, raw.name, `inputs[${i}]`);
    const spec = model.inputs[idx]!;
    const name = spec.name;
    if (inputs[idx] !== undefined) throw bad(`input '${name}' is given more than once`);
    checkDatatype(raw.datatype, spec);
    const dims = checkShape(raw.shape, spec);
    const count = elementCount(dims);
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
      data = fromRawBytes(binary.subarray(binOffset, binOffset + size), spec, count, dims);
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
  missingInput(model, inputs);
  const decoded = inputs as Feed[];

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
      if (!isObject(o)) throw bad(`outputs[${i}] must be an object with a string "name"`);
      const idx = outputIndex(model, o.name, `outputs[${i}]`);
      outputs.push(idx);
      const p = o.parameters;
      binaryOut.push(isObject(p) && typeof p.binary_data === 'boolean' ? p.binary_data : binaryAll);
    }
  }

  if (req.id !== undefined && typeof req.id !== 'string') throw bad('"id" must be a string');
  return assemble(model, decoded, outputs, binaryOut, opts.rules, req.id === undefined ? undefined : JSON.stringify(req.id));
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
          `input '${this.spec.name}': element ${this.k} (${quote(v)}) is not a valid ${t.v2} value${t.int ? ` (integers from ${t.int.min} to ${t.int.max})` : ''}`,
        );
      }
      this.k++;
    }
  }

  lengthError(got: number | string) {
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

function putterFor(spec: TensorSpec, out: TensorData): (v: unknown, k: number) => boolean {
  const type = spec.type;
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
        checkBytesElement(spec, k, v);
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
  const filler = new Filler(spec, count, dims, putterFor(spec, out));
  // A scalar may be sent bare ("data": 3) as well as in a one-element array.
  filler.fill(Array.isArray(data) ? data : [data]);
  if (filler.k !== count) throw filler.lengthError(filler.k);
  return out;
}

// --- responses -------------------------------------------------------------------------------

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

export interface EncodedResponse {
  body: string | Buffer;
  /** Set when the binary extension is used: the JSON header's byte length. */
  headerLength?: number;
}

/** Encode the response; `head` is the precomputed `{"model_name":...,"model_version":...` prefix. */
export function encodeResponse(head: string, model: Signature, req: DecodedRequest, outs: OutputTensor[]): EncodedResponse {
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
      const b = toRawBytes(spec, t.data);
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

// Request validation shared by every transport (REST JSON, the binary extension, gRPC): input
// names, datatypes, ranks, shapes, element counts, BYTES contents, output selection, the batch
// dimension and the per-request row limit. Every rejection is MODELPIN_E_INFER_INVALID with a
// message naming the tensor, the offending value (quoted, bounded) and what the model expects,
// because a 400 is only useful when the caller can fix the request.
import { isUtf8 } from 'node:buffer';
import { ModelpinError } from '../../src/errors.js';
import { quote, quoteName } from '../../src/quote.js';
import type { Feed } from './executor.js';
import type { Signature, TensorSpec } from './signature.js';

export const bad = (msg: string): ModelpinError => new ModelpinError('MODELPIN_E_INFER_INVALID', msg);

export const shapeText = (s: readonly number[]): string => `[${s.join(',')}]`;

/** A request after decoding and validation, whatever the transport. */
export interface DecodedRequest {
  /** The request id re-encoded as JSON, echoed verbatim in the response. */
  idJson?: string;
  /** Inputs in the model's input order. */
  inputs: Feed[];
  /** Requested outputs (signature output indices) in the order the response lists them. */
  outputs: number[];
  /** Per requested output: send its data in the binary section (REST) / raw contents (gRPC). */
  binary: boolean[];
  /** Size of the leading dimension of the inputs (rows); 0 for scalar inputs. */
  rows: number;
  /** Non-leading dims of every input when those are not all fixed: requests batch only with equal keys. */
  key: string;
}

/** Limits and the batching decision, fixed once the model is ready. */
export interface RequestRules {
  batching: boolean;
  /** Most rows (dim 0) one request may carry; the message names the setting that sets it. */
  maxRows: number;
  maxRowsSetting: string;
}

/** The model's input of that name, or a 400 listing the real ones. */
export function inputIndex(sig: Signature, name: unknown, where: string): number {
  if (typeof name !== 'string') throw bad(`${where}.name must be a string`);
  const idx = sig.inputIndex.get(name);
  if (idx === undefined) throw bad(`unknown input ${quoteName(name)}; the model's inputs are: ${sig.inputs.map((t) => t.name).join(', ')}`);
  return idx;
}

export function checkDatatype(datatype: unknown, spec: TensorSpec): void {
  if (datatype !== spec.type.v2) throw bad(`input '${spec.name}' has datatype ${quote(datatype)} but the model expects ${spec.type.v2}`);
}

/** The request's shape for `spec` as numbers, checked against the model's fixed dims. */
export function checkShape(shape: unknown, spec: TensorSpec): number[] {
  if (!Array.isArray(shape)) throw bad(`input '${spec.name}': "shape" must be an array of non-negative integers`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) throw bad(`input '${spec.name}': "shape" must be an array of non-negative integers, got ${quote(shape)}`);
  }
  const dims = shape as number[];
  if (dims.length !== spec.shape.length) {
    throw bad(`input '${spec.name}' has rank ${dims.length} (shape ${quote(dims)}) but the model expects rank ${spec.shape.length} (shape ${shapeText(spec.shape)})`);
  }
  for (let i = 0; i < dims.length; i++) {
    const want = spec.shape[i]!;
    if (want >= 0 && dims[i] !== want) throw bad(`input '${spec.name}': dimension ${i} is ${dims[i]} but the model requires ${want} (shape ${shapeText(spec.shape)})`);
  }
  return dims;
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * ONNX Runtime's node binding carries strings as NUL-terminated UTF-8: an embedded NUL would cut
 * the element short and bytes that are not UTF-8 would come back as U+FFFD. Both are refused, so
 * a BYTES element always round-trips exactly.
 */
export function checkBytesElement(spec: TensorSpec, k: number, s: string): void {
  if (s.includes('\u0000')) throw bad(`input '${spec.name}': BYTES element ${k} contains a NUL byte, which ONNX Runtime string tensors cannot carry`);
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) throw bad(`input '${spec.name}': BYTES element ${k} is not well-formed Unicode (a lone surrogate), so it cannot be carried as UTF-8`);
}

/** A BYTES element from raw bytes (binary extension, gRPC): must be UTF-8 without NUL. */
export function bytesElement(spec: TensorSpec, k: number, b: Uint8Array): string {
  if (!isUtf8(b)) throw bad(`input '${spec.name}': BYTES element ${k} is not valid UTF-8; ONNX Runtime string tensors carry UTF-8 text only`);
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  if (s.includes('\u0000')) throw bad(`input '${spec.name}': BYTES element ${k} contains a NUL byte, which ONNX Runtime string tensors cannot carry`);
  return s;
}

/** The requested outputs as signature indices; names of outputs the model has but cannot serve get a precise 400. */
export function outputIndex(sig: Signature, name: unknown, where: string): number {
  if (typeof name !== 'string') throw bad(`${where} must be an object with a string "name"`);
  const idx = sig.outputIndex.get(name);
  if (idx !== undefined) return idx;
  const omitted = sig.omitted.find((o) => o.name === name);
  if (omitted) throw bad(`output '${omitted.name}' cannot be served: ${omitted.reason}; servable outputs: ${sig.outputs.map((t) => t.name).join(', ')} (${omitted.hint})`);
  throw bad(`unknown output ${quoteName(name)}; the model's outputs are: ${sig.outputs.map((t) => t.name).join(', ')}`);
}

export function missingInput(sig: Signature, inputs: readonly (unknown | undefined)[]): void {
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i] === undefined) throw bad(`missing input '${sig.inputs[i]!.name}'; the model needs: ${sig.inputs.map((t) => t.name).join(', ')}`);
  }
}

/** The decoded request with its rows and batching key, after the batch-dimension rules. */
export function assemble(
  sig: Signature,
  inputs: Feed[],
  outputs: number[],
  binary: boolean[],
  rules: RequestRules,
  idJson: string | undefined,
): DecodedRequest {
  const first = inputs[0]!;
  const rows = first.dims.length > 0 ? first.dims[0]! : 0;
  let key = '';
  if (rules.batching) {
    for (let i = 1; i < inputs.length; i++) {
      if (inputs[i]!.dims[0] !== rows) {
        throw bad(`inputs disagree on the batch dimension: '${sig.inputs[0]!.name}' has ${rows} rows but '${sig.inputs[i]!.name}' has ${inputs[i]!.dims[0]}`);
      }
    }
    if (!sig.fixedTrailingDims) key = inputs.map((t) => t.dims.slice(1).join(',')).join(';');
  }
  if (rows > rules.maxRows && sig.inputs.every((t) => t.shape.length > 0 && t.shape[0]! < 0)) {
    throw bad(`input '${sig.inputs[0]!.name}' has ${rows} rows (dimension 0) but this server takes at most ${rules.maxRows} rows per request (${rules.maxRowsSetting}); split the request`);
  }
  const out: DecodedRequest = { inputs, outputs, binary, rows, key };
  if (idJson !== undefined) out.idJson = idJson;
  return out;
}


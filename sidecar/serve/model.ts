// Loading a verified .onnx into an ONNX Runtime session and describing it: the V2 metadata, and
// whether dynamic batching is sound for it. Batching concatenates requests along dim 0, which is
// only correct when every input and output shares one symbolic leading dimension.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelpinError } from '../../src/errors.js';
import { typeFromOrt, type TensorData, type TypeInfo, type V2Datatype } from './datatypes.js';

type Ort = typeof import('onnxruntime-node');

export interface TensorSpec {
  name: string;
  type: TypeInfo;
  /** V2 shape: fixed sizes, -1 for symbolic or unnamed dimensions. */
  shape: number[];
  /** Raw ORT dims (numbers, or symbolic names; '' for unnamed). */
  dims: (number | string)[];
  /** JSON prefix used when encoding this tensor in a response: `{"name":"x","datatype":"FP32","shape":[`. */
  jsonHead: string;
}

export interface BatchingInfo {
  enabled: boolean;
  /** Why batching is off for this model (when it is). */
  reason?: string;
}

export interface LoadedModel {
  session: InferenceSession;
  ort: Ort;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  inputIndex: Map<string, number>;
  outputIndex: Map<string, number>;
  /** True when batching is possible in principle (the config may still turn it off). */
  batchable: BatchingInfo;
  /** Any INT64/UINT64 input: requests need the exact-integer JSON parser. */
  needsExactInts: boolean;
  /** All inputs' non-leading dims are fixed: requests are always concatenable without checks. */
  fixedTrailingDims: boolean;
  /** Every input is FP32: JSON requests may take the one-pass decoder (fast-decode.ts). */
  allFp32Inputs: boolean;
  sessionCreateMs: number;
}

export interface SessionOptions {
  threads?: number;
  interOpThreads?: number;
}

export function ortSessionOptions(o: SessionOptions): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
    ...(o.interOpThreads ? { interOpNumThreads: o.interOpThreads } : {}),
  };
}

function describe(metas: readonly InferenceSession.ValueMetadata[], what: 'input' | 'output', file: string): TensorSpec[] {
  return metas.map((m) => {
    if (!m.isTensor) {
      throw new ModelpinError('MODELPIN_E_MODEL_LOAD', `${file}: ${what} '${m.name}' is not a tensor (sequence or map values are not supported by the V2 protocol)`, {
        hint: 'export the model with tensor inputs and outputs only',
      });
    }
    const type = typeFromOrt(m.type);
    if (!type) {
      throw new ModelpinError('MODELPIN_E_MODEL_LOAD', `${file}: ${what} '${m.name}' has element type ${m.type}, which has no V2 datatype`, {
        hint: 'cast it to a supported type (e.g. float32) in the exported graph',
      });
    }
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d)));
    const shape = dims.map((d) => (typeof d === 'number' ? d : -1));
    return {
      name: m.name,
      type,
      shape,
      dims,
      jsonHead: `{"name":${JSON.stringify(m.name)},"datatype":"${type.v2}","shape":[`,
    };
  });
}

/** Batching is sound only if every input and output has rank ≥ 1 and one shared, named dynamic dim 0. */
export function batchability(inputs: TensorSpec[], outputs: TensorSpec[]): BatchingInfo {
  let leading: string | undefined;
  for (const t of [...inputs, ...outputs]) {
    const d = t.dims[0];
    if (t.dims.length === 0) return { enabled: false, reason: `'${t.name}' is a scalar (rank 0)` };
    if (typeof d === 'number') return { enabled: false, reason: `'${t.name}' has a fixed leading dimension ${d}` };
    if (d === '' || d === undefined) return { enabled: false, reason: `'${t.name}' has an unnamed leading dimension, so it cannot be shown to be the batch dimension` };
    if (leading === undefined) leading = d;
    else if (d !== leading) return { enabled: false, reason: `'${t.name}' has leading dimension '${d}', not '${leading}' like the others` };
  }
  return { enabled: true };
}

export async function loadModel(file: string, opts: SessionOptions): Promise<LoadedModel> {
  const ort = (await import('onnxruntime-node')).default;
  const started = performance.now();
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, ortSessionOptions(opts));
  } catch (err) {
    throw new ModelpinError('MODELPIN_E_MODEL_LOAD', `ONNX Runtime could not load ${file}: ${(err as Error).message}`, {
      hint: 'check that the artifact is an ONNX model (with --format tar, that --entry names the .onnx file) and that its opset is supported by onnxruntime-node',
      cause: err,
    });
  }
  const sessionCreateMs = performance.now() - started;
  const inputs = describe(session.inputMetadata, 'input', file);
  const outputs = describe(session.outputMetadata, 'output', file);
  return {
    session,
    ort,
    inputs,
    outputs,
    inputIndex: new Map(inputs.map((t, i) => [t.name, i])),
    outputIndex: new Map(outputs.map((t, i) => [t.name, i])),
    batchable: batchability(inputs, outputs),
    needsExactInts: inputs.some((t) => t.type.int?.big === true),
    fixedTrailingDims: inputs.every((t) => t.dims.slice(1).every((d) => typeof d === 'number')),
    allFp32Inputs: inputs.every((t) => t.type.v2 === 'FP32'),
    sessionCreateMs,
  };
}

/** Zeros (empty strings for BYTES) of the declared shape with each dynamic dim set to 1. */
export function zeroTensor(ort: Ort, spec: TensorSpec): Tensor {
  const dims = spec.shape.map((d) => (d < 0 ? 1 : d));
  const n = dims.reduce((a, b) => a * b, 1);
  const data: TensorData = spec.type.array ? new spec.type.array(n) : new Array<string>(n).fill('');
  return toOrtTensor(ort, spec, data, dims);
}

// FP16 data is IEEE half bits in a Uint16Array throughout modelpin. Where the runtime has a global
// Float16Array (Node 24), onnxruntime-common 1.30 re-wraps such data as a Float16Array, which the
// onnxruntime-node binding cannot read ("not enough space: expected 4, got 0") and which it also
// hands back for FP16 outputs. These two functions keep ORT on the Uint16Array bits both ways.

/** An ORT input tensor over `data` (no copy). */
export function toOrtTensor(ort: Ort, spec: TensorSpec, data: TensorData, dims: readonly number[]): Tensor {
  const t = new ort.Tensor(spec.type.ort, data as never, dims);
  if (data instanceof Uint16Array && t.data !== data) (t as unknown as { cpuData: TensorData }).cpuData = data;
  return t;
}

/** An ORT output tensor's data, FP16 as Uint16Array bits (a view, no copy). */
export function fromOrtTensor(t: Tensor): TensorData {
  const d = t.data as TensorData | { buffer: ArrayBufferLike; byteOffset: number; length: number };
  if (t.type === 'float16' && !(d instanceof Uint16Array)) {
    const f = d as { buffer: ArrayBufferLike; byteOffset: number; length: number };
    return new Uint16Array(f.buffer, f.byteOffset, f.length);
  }
  return d as TensorData;
}

/** Run one dummy inference so the first real request does not pay for lazy initialisation. */
export async function warmUp(model: LoadedModel): Promise<number> {
  const started = performance.now();
  const feeds: Record<string, Tensor> = {};
  for (const spec of model.inputs) feeds[spec.name] = zeroTensor(model.ort, spec);
  try {
    await model.session.run(feeds);
  } catch (err) {
    throw new ModelpinError('MODELPIN_E_MODEL_LOAD', `warm-up inference (zeros, dynamic dims = 1) failed: ${(err as Error).message}`, {
      hint: 'the model must accept inputs whose dynamic dimensions are 1',
      cause: err,
    });
  }
  return performance.now() - started;
}

export function v2Metadata(t: TensorSpec): { name: string; datatype: V2Datatype; shape: number[] } {
  return { name: t.name, datatype: t.type.v2, shape: t.shape };
}

// What a loaded model looks like to a client: its servable inputs and outputs as V2 tensors, the
// outputs left out (sequences, maps, types V2 cannot carry) and why, and whether its shapes even
// allow batching. Pure and built from ONNX Runtime's plain metadata objects, so the main thread
// and each inference worker derive the same signature from the same session metadata.
import { ModelpinError } from '../../src/errors.js';
import { typeFromOrt, type TypeInfo, type V2Datatype } from './datatypes.js';

/** One entry of onnxruntime-node's session.inputMetadata / outputMetadata. */
export interface RawValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

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

/** An output the model has but the V2 protocol cannot carry; listed in metadata with the reason. */
export interface OmittedOutput {
  name: string;
  reason: string;
  hint: string;
}

export interface Signature {
  inputs: TensorSpec[];
  /** Servable outputs only, in the model's order. */
  outputs: TensorSpec[];
  omitted: OmittedOutput[];
  inputIndex: Map<string, number>;
  outputIndex: Map<string, number>;
  /** Any INT64/UINT64 input: requests need the exact-integer JSON parser. */
  needsExactInts: boolean;
  /** All inputs' non-leading dims are fixed: requests are always concatenable without checks. */
  fixedTrailingDims: boolean;
  /** Every input is FP32: JSON requests may take the one-pass decoder (fast-decode.ts). */
  allFp32Inputs: boolean;
}

const ZIPMAP_HINT =
  'models converted by skl2onnx return class probabilities as a sequence of maps (ZipMap); convert with ' +
  "options={id(model): {'zipmap': False}} (or 'zipmap': 'columns') to get them as a tensor";

function spec(name: string, type: TypeInfo, shape: readonly (number | string)[]): TensorSpec {
  const dims = shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d)));
  return {
    name,
    type,
    shape: dims.map((d) => (typeof d === 'number' ? d : -1)),
    dims,
    jsonHead: `{"name":${JSON.stringify(name)},"datatype":"${type.v2}","shape":[`,
  };
}

/**
 * The signature of a session. Inputs must all be tensors of V2 datatypes (a request could not
 * feed anything else); outputs that are not are left out with a reason, so models whose extra
 * outputs are sequences or maps (every skl2onnx classifier with ZipMap) still serve the rest.
 */
export function describeSignature(inputs: readonly RawValueMetadata[], outputs: readonly RawValueMetadata[], file: string): Signature {
  const ins = inputs.map((m) => {
    if (!m.isTensor) {
      throw new ModelpinError('MODELPIN_E_MODEL_LOAD', `${file}: input '${m.name}' is a sequence or map, which the Open Inference Protocol cannot carry`, {
        hint: 'export the model with tensor inputs only',
      });
    }
    const type = typeFromOrt(m.type ?? '');
    if (!type) {
      throw new ModelpinError('MODELPIN_E_MODEL_LOAD', `${file}: input '${m.name}' has element type ${m.type}, which has no V2 datatype`, {
        hint: 'cast it to a supported type (e.g. float32) in the exported graph',
      });
    }
    return spec(m.name, type, m.shape ?? []);
  });
  const outs: TensorSpec[] = [];
  const omitted: OmittedOutput[] = [];
  for (const m of outputs) {
    const type = m.isTensor ? typeFromOrt(m.type ?? '') : undefined;
    if (type) outs.push(spec(m.name, type, m.shape ?? []));
    else if (!m.isTensor) omitted.push({ name: m.name, reason: 'it is a sequence or map, not a tensor', hint: ZIPMAP_HINT });
    else omitted.push({ name: m.name, reason: `its element type ${m.type} has no V2 datatype`, hint: 'cast it to a supported type (e.g. float32) in the exported graph' });
  }
  if (outs.length === 0) {
    throw new ModelpinError('MODELPIN_E_MODEL_LOAD', `${file}: the model has no output the Open Inference Protocol can carry (${omitted.map((o) => `'${o.name}': ${o.reason}`).join('; ')})`, {
      hint: omitted[0]?.hint ?? 'export the model with at least one tensor output',
    });
  }
  return {
    inputs: ins,
    outputs: outs,
    omitted,
    inputIndex: new Map(ins.map((t, i) => [t.name, i])),
    outputIndex: new Map(outs.map((t, i) => [t.name, i])),
    needsExactInts: ins.some((t) => t.type.int?.big === true),
    fixedTrailingDims: ins.every((t) => t.dims.slice(1).every((d) => typeof d === 'number')),
    allFp32Inputs: ins.every((t) => t.type.v2 === 'FP32'),
  };
}

export type ShapeVerdict =
  | {
      possible: true;
      /** Why the shapes alone prove nothing (unnamed or differently named leading dims). */
      note?: string;
      /**
       * Outputs with a named dynamic dimension that no input has (a detector's box count, or just
       * an exporter's fresh name for a dimension that follows the input's): only real rows can show
       * whether its size depends on the data.
       */
      dataDependent: { output: string; dim: number; name: string }[];
    }
  | { possible: false; reason: string };

/**
 * What the shapes say about batching, which concatenates along dim 0 of every input. Inputs'
 * shapes are binding (ONNX Runtime checks them), so an input without a dynamic dim 0 rules
 * batching out. Outputs' declared shapes are not (some converters declare [1] for a batch
 * output, ONNX Runtime only logs it): the start-up check judges outputs by their real shapes.
 */
export function batchingShapeVerdict(sig: Signature): ShapeVerdict {
  let leading: string | undefined;
  let note: string | undefined;
  for (const t of sig.inputs) {
    const d = t.dims[0];
    if (t.dims.length === 0) return { possible: false, reason: `input '${t.name}' is a scalar (rank 0), so it has no batch dimension` };
    if (typeof d === 'number') return { possible: false, reason: `input '${t.name}' has a fixed leading dimension ${d}, so it has no dynamic batch dimension` };
  }
  for (const t of [...sig.inputs, ...sig.outputs]) {
    const d = t.dims[0];
    if (d === '' || d === undefined) note ??= `'${t.name}' has an unnamed leading dimension`;
    else if (typeof d === 'number') note ??= `output '${t.name}' declares a fixed leading dimension ${d}`;
    else if (leading === undefined) leading = d;
    else if (d !== leading) note ??= `'${t.name}' has leading dimension '${d}', not '${leading}' like the others`;
  }
  const inputDims = new Set(sig.inputs.flatMap((t) => t.dims.slice(1).filter((d): d is string => typeof d === 'string' && d !== '')));
  const dataDependent: { output: string; dim: number; name: string }[] = [];
  for (const t of sig.outputs) {
    for (let i = 1; i < t.dims.length; i++) {
      const d = t.dims[i]!;
      if (typeof d === 'string' && d !== '' && !inputDims.has(d)) dataDependent.push({ output: t.name, dim: i, name: d });
    }
  }
  return { possible: true, dataDependent, ...(note === undefined ? {} : { note }) };
}

export function v2Metadata(t: TensorSpec): { name: string; datatype: V2Datatype; shape: number[] } {
  return { name: t.name, datatype: t.type.v2, shape: t.shape };
}

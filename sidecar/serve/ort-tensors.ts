// Moving tensor data in and out of onnxruntime-node without copies, and the session options.
//
// FP16 data is IEEE half bits in a Uint16Array throughout modelpin. Where the runtime has a global
// Float16Array (Node 24), onnxruntime-common 1.30 re-wraps such data as a Float16Array, which the
// onnxruntime-node binding cannot read ("not enough space: expected 4, got 0") and which it also
// hands back for FP16 outputs. These two functions keep ORT on the Uint16Array bits both ways.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { OrtType, TensorData } from './datatypes.js';

export type Ort = typeof import('onnxruntime-node');

/** An ORT input tensor over `data` (no copy). */
export function toOrtTensor(ort: Ort, type: OrtType, data: TensorData, dims: readonly number[]): Tensor {
  const t = new ort.Tensor(type, data as never, dims);
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

/** ONNX Runtime session options a user may set (spec.serving.onnxruntime / serve flags). */
export interface OrtOptions {
  intraOpThreads?: number;
  interOpThreads?: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  enableCpuMemArena: boolean;
  enableMemPattern: boolean;
}

export function sessionOptions(o: OrtOptions, extra: { optimizedModelFilePath?: string } = {}): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.graphOptimizationLevel,
    executionMode: o.executionMode,
    enableCpuMemArena: o.enableCpuMemArena,
    enableMemPattern: o.enableMemPattern,
    ...(o.intraOpThreads ? { intraOpNumThreads: o.intraOpThreads } : {}),
    ...(o.interOpThreads ? { interOpNumThreads: o.interOpThreads } : {}),
    ...(extra.optimizedModelFilePath ? { optimizedModelFilePath: extra.optimizedModelFilePath } : {}),
  };
}

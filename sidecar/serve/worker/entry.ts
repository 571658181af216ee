// An inference worker: one ONNX Runtime session in its own thread. onnxruntime-node runs a
// session synchronously, so inside the main thread a long inference would freeze health probes,
// metrics, admission and drain; here it only occupies this thread. Runs arrive one at a time
// (the queue on the main thread never sends a second before the first is answered); input
// buffers arrive transferred, output buffers leave transferred, so nothing is copied.
import { parentPort, workerData } from 'node:worker_threads';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { typeFromV2 } from '../datatypes.js';
import type { Feed, OutputTensor } from '../executor.js';
import { fromOrtTensor, toOrtTensor, type Ort } from '../ort-tensors.js';
import { describeSignature, type RawValueMetadata, type Signature } from '../signature.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const ort = (await import('onnxruntime-node')).default as unknown as Ort;
let session: InferenceSession;
const started = performance.now();
try {
  session = await ort.InferenceSession.create(('bytes' in init.model ? init.model.bytes : init.model.path) as never, init.options);
} catch (err) {
  post({ type: 'load-failed', message: (err as Error).message });
  await new Promise(() => {}); // the main thread terminates us
}
const inputs = session!.inputMetadata as unknown as RawValueMetadata[];
const outputs = session!.outputMetadata as unknown as RawValueMetadata[];
post({
  type: 'loaded',
  // Plain copies: the metadata objects come from the binding.
  inputs: inputs.map(plain),
  outputs: outputs.map(plain),
  ms: performance.now() - started,
  ortVersion: (ort.env as { versions?: { node?: string } }).versions?.node ?? 'unknown',
});
// The main thread refuses the model when the signature cannot be built; then nothing runs here.
let sig: Signature | undefined;
try {
  sig = describeSignature(inputs, outputs, init.describe);
} catch {
  /* reported by the main thread, which derives the same signature */
}
const fetches = sig?.outputs.map((t) => t.name) ?? [];

port.on('message', (m: ToWorker) => {
  if (m.type !== 'run' || !sig) return;
  try {
    const feeds: Record<string, Tensor> = {};
    for (let i = 0; i < sig.inputs.length; i++) {
      const spec = sig.inputs[i]!;
      const f: Feed = m.feeds[i]!;
      feeds[spec.name] = toOrtTensor(ort, typeFromV2(spec.type.v2)!.ort, f.data, f.dims);
    }
    // Synchronous in onnxruntime-node; the promise only wraps a setImmediate.
    void session.run(feeds, fetches).then(
      (result) => {
        const out: OutputTensor[] = [];
        const transfer = new Set<ArrayBuffer>();
        for (const name of fetches) {
          const t = result[name]! as Tensor;
          const data = fromOrtTensor(t);
          out.push({ data, dims: t.dims });
          if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
        }
        post({ type: 'result', id: m.id, outputs: out }, [...transfer]);
      },
      (err: unknown) => post({ type: 'failed', id: m.id, code: 'MODELPIN_E_INFER_FAILED', message: `ONNX Runtime failed to run the model: ${(err as Error).message}` }),
    );
  } catch (err) {
    post({ type: 'failed', id: m.id, code: 'MODELPIN_E_INFER_FAILED', message: `ONNX Runtime could not take the inputs: ${(err as Error).message}` });
  }
});

function plain(m: RawValueMetadata): RawValueMetadata {
  return m.isTensor ? { name: m.name, isTensor: true, type: m.type!, shape: [...(m.shape ?? [])] } : { name: m.name, isTensor: false };
}

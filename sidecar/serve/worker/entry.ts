// An inference worker: one ONNX Runtime session in its own thread. onnxruntime-node runs a
// session synchronously, so inside the main thread a long inference would freeze health probes,
// metrics, admission and drain; here it only occupies this thread. Input buffers arrive
// transferred, output buffers leave transferred, so nothing is copied.
//
// Waking a worker through its event loop (a MessagePort 'message' event) costs about 35 µs on
// this class of machine, twice per run with the answer: more than a small model's inference. So
// the worker sleeps in Atomics.wait on a shared counter that the main thread bumps after posting
// a run, takes the run off its port synchronously (receiveMessageOnPort), and runs the session
// through onnxruntime-node's synchronous binding (its public run() adds a setImmediate turn). The
// ping-pong round trip measured 75 µs through events and 39 µs this way (Node 20; 74 → 32 µs on
// Node 24). Where the binding is not what this code knows (another onnxruntime-node version), the
// worker falls back to the public API and port events, and says so in its 'loaded' message.
import { createRequire } from 'node:module';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Tensor } from 'onnxruntime-node';
import { typeFromV2 } from '../datatypes.js';
import type { Feed, OutputTensor } from '../executor.js';
import { fromOrtTensor, toOrtTensor, type Ort } from '../ort-tensors.js';
import { describeSignature, type RawValueMetadata, type Signature } from '../signature.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

/** A session: metadata, and a run that is synchronous (binding) or not (public API). */
interface Session {
  inputs: RawValueMetadata[];
  outputs: RawValueMetadata[];
  run(feeds: Record<string, Tensor>, fetches: string[]): Record<string, Tensor> | Promise<Record<string, Tensor>>;
  sync: boolean;
}

/** ONNX TensorProto element types (the ONNX spec's numbering) as onnxruntime-node names them. */
const ELEM: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16', 21: 'uint4', 22: 'int4',
};

interface BindingValueMetadata {
  name: string;
  isTensor: boolean;
  symbolicDimensions: string[];
  shape: number[];
  type: number;
}

interface BindingSession {
  loadModel(...args: unknown[]): void;
  readonly inputMetadata: BindingValueMetadata[];
  readonly outputMetadata: BindingValueMetadata[];
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: object): Record<string, Tensor>;
}

/** onnxruntime-node's native binding, when it has the shape this code knows (1.30). */
function nativeBinding(): { InferenceSession: new () => BindingSession; initOrt: () => void } | undefined {
  try {
    const req = createRequire(import.meta.url);
    const m = req('onnxruntime-node/dist/binding.js') as { binding?: { InferenceSession?: unknown }; initOrt?: unknown };
    const S = m.binding?.InferenceSession as (new () => BindingSession) | undefined;
    if (typeof S !== 'function' || typeof m.initOrt !== 'function' || typeof S.prototype.run !== 'function' || typeof S.prototype.loadModel !== 'function') return undefined;
    return { InferenceSession: S, initOrt: m.initOrt as () => void };
  } catch {
    return undefined;
  }
}

function fromBinding(m: BindingValueMetadata): RawValueMetadata {
  if (!m.isTensor) return { name: m.name, isTensor: false };
  return { name: m.name, isTensor: true, type: ELEM[m.type] ?? `type ${m.type}`, shape: m.shape.map((d, i) => (d >= 0 ? d : (m.symbolicDimensions[i] ?? ''))) };
}

async function open(ort: Ort): Promise<Session> {
  const model = 'bytes' in init.model ? init.model.bytes : init.model.path;
  const b = nativeBinding();
  if (b) {
    b.initOrt();
    const s = new b.InferenceSession();
    if (typeof model === 'string') s.loadModel(model, init.options);
    else s.loadModel(model.buffer, model.byteOffset, model.byteLength, init.options);
    const none: Record<string, null> = {};
    return {
      inputs: s.inputMetadata.map(fromBinding),
      outputs: s.outputMetadata.map(fromBinding),
      sync: true,
      run: (feeds, fetches) => {
        const f: Record<string, null> = fetches.length === 0 ? none : {};
        for (const n of fetches) f[n] = null;
        return s.run(feeds, f, {});
      },
    };
  }
  const s = await ort.InferenceSession.create(model as never, init.options);
  const plain = (m: RawValueMetadata): RawValueMetadata =>
    m.isTensor ? { name: m.name, isTensor: true, type: m.type!, shape: [...(m.shape ?? [])] } : { name: m.name, isTensor: false };
  return {
    inputs: (s.inputMetadata as unknown as RawValueMetadata[]).map(plain),
    outputs: (s.outputMetadata as unknown as RawValueMetadata[]).map(plain),
    sync: false,
    run: (feeds, fetches) => s.run(feeds, fetches) as Promise<Record<string, Tensor>>,
  };
}

const ort = (await import('onnxruntime-node')).default as unknown as Ort;
let session: Session;
const started = performance.now();
try {
  session = await open(ort);
} catch (err) {
  post({ type: 'load-failed', message: (err as Error).message });
  await new Promise(() => {}); // the main thread terminates us
}
post({
  type: 'loaded',
  inputs: session!.inputs,
  outputs: session!.outputs,
  ms: performance.now() - started,
  ortVersion: (ort.env as { versions?: { node?: string } }).versions?.node ?? 'unknown',
  sync: session!.sync,
});
// The main thread refuses the model when the signature cannot be built; then nothing runs here.
let sig: Signature | undefined;
try {
  sig = describeSignature(session!.inputs, session!.outputs, init.describe);
} catch {
  /* reported by the main thread, which derives the same signature */
}
const fetches = sig?.outputs.map((t) => t.name) ?? [];

function answer(id: number, result: Record<string, Tensor>): void {
  const out: OutputTensor[] = [];
  const transfer = new Set<ArrayBuffer>();
  for (const name of fetches) {
    const t = result[name]!;
    const data = fromOrtTensor(t);
    out.push({ data, dims: t.dims });
    if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
  }
  post({ type: 'result', id, outputs: out }, [...transfer]);
}

const failed = (id: number, what: string, err: unknown) => post({ type: 'failed', id, code: 'MODELPIN_E_INFER_FAILED', message: `${what}: ${(err as Error).message}` });

function feedsOf(m: ToWorker): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (let i = 0; i < sig!.inputs.length; i++) {
    const spec = sig!.inputs[i]!;
    const f: Feed = m.feeds[i]!;
    feeds[spec.name] = toOrtTensor(ort, typeFromV2(spec.type.v2)!.ort, f.data, f.dims);
  }
  return feeds;
}

function handle(m: ToWorker): void {
  if (m.type !== 'run' || !sig) return;
  let feeds: Record<string, Tensor>;
  try {
    feeds = feedsOf(m);
  } catch (err) {
    return failed(m.id, 'ONNX Runtime could not take the inputs', err);
  }
  try {
    const r = session.run(feeds, fetches);
    if (r instanceof Promise) r.then((res) => answer(m.id, res), (err: unknown) => failed(m.id, 'ONNX Runtime failed to run the model', err));
    else answer(m.id, r);
  } catch (err) {
    failed(m.id, 'ONNX Runtime failed to run the model', err);
  }
}

const port = init.runs;
if (session!.sync) {
  // Sleep until the main thread bumps the counter; take every run posted meanwhile.
  const wake = new Int32Array(init.wake);
  let seen = 0;
  for (;;) {
    Atomics.wait(wake, 0, seen);
    seen = Atomics.load(wake, 0);
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) handle(m.message as ToWorker);
  }
} else {
  port.on('message', handle);
}

// Inference workers on the main thread's side: start N worker threads (like Triton's instance
// count), each with its own ONNX Runtime session of the same verified model, and expose each as
// an Executor. The verified bytes are handed over, not re-read: copied to all workers but the
// last, which takes them by transfer (one worker: no copy at all).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ModelpinError } from '../../src/errors.js';
import type { Executor, Feed, OutputTensor } from './executor.js';
import { sessionOptions, type OrtOptions } from './ort-tensors.js';
import { describeSignature, type Signature } from './signature.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker/protocol.js';

/**
 * The worker script. It is a bundle of its own (dist/serve-worker.js, see test/tools/build.mjs):
 * next to the CLI bundle, one level up from a code-split chunk, or, when running from source
 * (the tests), in the repository's dist/ after `npm run build`.
 */
export function workerScript(): string {
  const candidates = ['./serve-worker.js', '../serve-worker.js', '../../dist/serve-worker.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new ModelpinError('MODELPIN_E_INTERNAL', `the inference worker script is missing (looked for ${candidates.join(', ')})`, {
      hint: 'run `npm run build` (the tests need dist/serve-worker.js)',
    });
  }
  return found;
}

export interface StartWorkersOptions {
  model: { bytes: Uint8Array } | { path: string };
  /** Names the model in messages (the verified file, or the URI). */
  describe: string;
  ort: OrtOptions;
  workers: number;
  /** Where the first worker saves ONNX Runtime's optimized graph (the optimized-model cache). */
  optimizedModelFilePath?: string;
  /** Called when a worker dies while serving (a bug, or memory): the process cannot serve on. */
  onFatal(err: Error): void;
}

export interface WorkerPool {
  signature: Signature;
  executors: Executor[];
  /** Session creation time of the first worker (what a cold start pays). */
  sessionCreateMs: number;
  ortVersion: string;
  /** Runs go through onnxruntime-node's synchronous binding (else its public async API). */
  syncBinding: boolean;
  /** Terminate every worker (their sessions go with them). */
  close(): Promise<void>;
}

export async function startWorkers(o: StartWorkersOptions): Promise<WorkerPool> {
  const script = workerScript();
  const n = Math.max(1, o.workers);
  // ONNX Runtime's node binding takes only an ArrayBuffer (not a SharedArrayBuffer), and a whole one transfers.
  const bytes = 'bytes' in o.model ? ownBuffer(o.model.bytes) : undefined;
  const spawn = (i: number, opts: WorkerInit['options']) => {
    const last = i === n - 1;
    const model = bytes ? { bytes: last ? bytes : bytes.slice() } : o.model;
    const { port1, port2 } = new MessageChannel();
    const wake = new SharedArrayBuffer(4);
    const init: WorkerInit = { model, describe: o.describe, options: opts, runs: port2, wake };
    return new WorkerExecutor(script, init, [port2, ...(bytes && last ? [bytes.buffer as ArrayBuffer] : [])], o.onFatal, port1, new Int32Array(wake));
  };
  const first = spawn(0, sessionOptions(o.ort, o.optimizedModelFilePath ? { optimizedModelFilePath: o.optimizedModelFilePath } : {}));
  const executors: WorkerExecutor[] = [first];
  try {
    const loaded = await first.loaded;
    const signature = describeSignature(loaded.inputs, loaded.outputs, o.describe);
    for (let i = 1; i < n; i++) executors.push(spawn(i, sessionOptions(o.ort)));
    await Promise.all(executors.slice(1).map((e) => e.loaded));
    return {
      signature,
      executors,
      sessionCreateMs: loaded.ms,
      ortVersion: loaded.ortVersion,
      syncBinding: loaded.sync,
      close: async () => {
        await Promise.all(executors.map((e) => e.close()));
      },
    };
  } catch (err) {
    await Promise.all(executors.map((e) => e.close()));
    throw err;
  }
}

/** A Uint8Array that owns a plain ArrayBuffer exactly (copied once if it is a view or shared). */
function ownBuffer(b: Uint8Array): Uint8Array {
  if (b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b;
  const out = new Uint8Array(b.byteLength);
  out.set(b);
  return out;
}

type Loaded = Extract<FromWorker, { type: 'loaded' }>;

class WorkerExecutor implements Executor {
  readonly loaded: Promise<Loaded>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (o: OutputTensor[]) => void; reject: (e: unknown) => void }>();
  private seq = 0;
  private closing = false;
  private dead: Error | undefined;

  constructor(
    script: string,
    init: WorkerInit,
    transfer: (ArrayBuffer | MessagePort)[],
    onFatal: (err: Error) => void,
    private readonly runs: MessagePort,
    private readonly wake: Int32Array,
  ) {
    this.worker = new Worker(script, { workerData: init, transferList: transfer as never });
    let onLoaded!: (l: Loaded) => void;
    let onLoadFailed!: (e: unknown) => void;
    let loaded = false;
    this.loaded = new Promise((res, rej) => ((onLoaded = res), (onLoadFailed = rej)));
    this.loaded.catch(() => {});
    this.worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'loaded':
          loaded = true;
          return onLoaded(m);
        case 'load-failed':
          return onLoadFailed(
            new ModelpinError('MODELPIN_E_MODEL_LOAD', `ONNX Runtime could not load ${init.describe}: ${m.message}`, {
              hint: 'check that the artifact is an ONNX model (with --format tar, that --entry names the .onnx file) and that its opset is supported by onnxruntime-node',
            }),
          );
        case 'result':
          this.settle(m.id)?.resolve(m.outputs);
          return;
        case 'failed':
          this.settle(m.id)?.reject(new ModelpinError(m.code as 'MODELPIN_E_INFER_FAILED', m.message));
          return;
      }
    });
    const died = (why: string) => {
      if (this.closing || this.dead) return;
      this.dead = new ModelpinError('MODELPIN_E_INFER_FAILED', `an inference worker stopped: ${why}`);
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
      if (!loaded) onLoadFailed(new ModelpinError('MODELPIN_E_MODEL_LOAD', `the inference worker stopped while loading ${init.describe}: ${why}`));
      else onFatal(this.dead);
    };
    this.worker.on('error', (err) => died(err.message));
    this.worker.on('exit', (code) => died(`exit code ${code}`));
  }

  private settle(id: number) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  run(feeds: Feed[]): Promise<OutputTensor[]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.seq;
    const transfer = new Set<ArrayBuffer>();
    for (const f of feeds) {
      const d = f.data;
      // Only buffers the feed owns whole: transferring a view would detach its neighbours.
      if (!Array.isArray(d) && d.buffer instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) transfer.add(d.buffer);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ToWorker = { type: 'run', id, feeds };
      this.runs.postMessage(msg, [...transfer]);
      // The worker sleeps in Atomics.wait on this counter (see worker/entry.ts).
      Atomics.add(this.wake, 0, 1);
      Atomics.notify(this.wake, 0, 1);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const p of this.pending.values()) p.reject(new ModelpinError('MODELPIN_E_NOT_READY', 'the server is shutting down'));
    this.pending.clear();
    await this.worker.terminate();
    this.runs.close();
  }
}

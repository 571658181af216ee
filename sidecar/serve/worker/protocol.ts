// Messages between the main thread and an inference worker. Plain, structured-cloneable values:
// class identity does not survive a thread boundary, so errors travel as {code, message}.
import type { MessagePort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { Feed, OutputTensor } from '../executor.js';
import type { RawValueMetadata } from '../signature.js';

export interface WorkerInit {
  /** The verified model: its bytes (preferred: exactly what was hashed), or a file (tar trees with external data). */
  model: { bytes: Uint8Array } | { path: string };
  /** For messages ("<file>: input 'x' …"). */
  describe: string;
  options: InferenceSession.SessionOptions;
  /** Where runs arrive (ToWorker messages); transferred to the worker. */
  runs: MessagePort;
  /** An Int32 counter the main thread bumps (and notifies) after posting each run. */
  wake: SharedArrayBuffer;
}

export type FromWorker =
  /** `sync`: runs go through onnxruntime-node's synchronous binding, woken by `wake` (else port events). */
  | { type: 'loaded'; inputs: RawValueMetadata[]; outputs: RawValueMetadata[]; ms: number; ortVersion: string; sync: boolean }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; outputs: OutputTensor[] }
  | { type: 'failed'; id: number; code: string; message: string };

export type ToWorker = { type: 'run'; id: number; feeds: Feed[] };

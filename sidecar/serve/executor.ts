// The executor contract between the batching queue and ONNX Runtime. The queue only schedules;
// an executor runs one batch at a time and answers with the model's servable outputs. The
// production executor is an ONNX Runtime session in a worker thread (worker-pool.ts), so the
// event loop stays free for HTTP, gRPC, health and metrics; tests use fakes.
import type { TensorData } from './datatypes.js';

/** One input tensor of a run, in the model's input order. */
export interface Feed {
  data: TensorData;
  dims: readonly number[];
}

/** One output tensor of a run. */
export interface OutputTensor {
  data: TensorData;
  dims: readonly number[];
}

export interface Executor {
  /**
   * Run the model on `feeds` (owned buffers: a worker executor transfers them, so the caller
   * must not touch them afterwards) and resolve with every servable output in signature order.
   * Rejects with a coded error ({code, message}); never throws synchronously.
   */
  run(feeds: Feed[]): Promise<OutputTensor[]>;
  /** Stop the executor (its worker thread); pending runs are rejected. */
  close(): Promise<void>;
}

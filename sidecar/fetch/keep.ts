// Keeping a download in memory for the caller (FetchOptions.readModel): every received chunk is
// copied into one ArrayBuffer and the engine hashes the copy, so the digest describes
// exactly the buffer handed to ONNX Runtime. Cheaper than reading the committed file back and
// hashing it again (one memcpy instead of a read plus a second SHA-256 pass), with the same
// memory peak: the model has to be in memory for the session either way. A plain ArrayBuffer, not
// a SharedArrayBuffer: ONNX Runtime's node binding refuses shared memory, and a plain buffer of
// exactly the model's size is handed to the inference worker by transfer, without a copy.
import { ModelpinError } from '../../src/errors.js';

/** Where the engine puts bytes it keeps; `put` returns the stored copy, which is what is hashed. */
export interface Keeper {
  /** The total size is known (and within limits): allocate it once. */
  reserve(total: number): void;
  put(chunk: Uint8Array, position: number): Uint8Array;
  /** The server ignored a range: the download restarts from byte 0. */
  reset(): void;
}

/** ONNX Runtime parses a single .onnx as one protobuf, capped at 2 GiB: never pre-allocate more. */
const MAX_RESERVE = 2 * 1024 ** 3;

export class KeptBytes implements Keeper {
  private buf: Uint8Array = new Uint8Array(0);
  private length = 0;

  reserve(total: number): void {
    if (total > this.buf.length && total <= MAX_RESERVE) this.grow(total);
  }

  put(chunk: Uint8Array, position: number): Uint8Array {
    const end = position + chunk.byteLength;
    if (end > this.buf.length) this.grow(Math.max(end, this.buf.length * 2));
    this.buf.set(chunk, position);
    if (end > this.length) this.length = end;
    return this.buf.subarray(position, end);
  }

  reset(): void {
    this.length = 0;
  }

  /** The first `n` bytes kept (the whole buffer when the size was reserved up front, else a view). */
  bytes(n: number): Uint8Array {
    return this.buf.subarray(0, n);
  }

  private grow(size: number): void {
    let next: Uint8Array;
    try {
      next = new Uint8Array(size);
    } catch (e) {
      throw new ModelpinError('MODELPIN_E_SIZE_EXCEEDED', `cannot hold ${size} bytes of the model in memory (${(e as Error).message})`, {
        hint: 'give the container more memory, or set spec.model.size so a server announcing a wrong size is refused early',
      });
    }
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

// The contract every artifact source implements. The fetch engine (sidecar/fetch/) owns hashing,
// retries, resumption and caching; a source only knows how to hand out bytes from an offset, and
// how to classify its failures: permanent ones are ModelpinErrors (404, 403, TLS, bad redirect),
// transient ones are RetryableErrors (5xx, resets, timeouts) that the engine retries with backoff.
import type { Logger } from '../log.js';

/** Everything a source may need from the outside world; passed in, never read from globals. */
export interface SourceContext {
  /** A mounted Secret directory (one file per key; the README's "Sources and credentials" lists the keys). */
  credentialsDir?: string;
  /** Extra PEM CA bundle trusted for HTTPS in addition to the system roots. */
  caFile?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** No bytes for this long counts as a transient failure (default 60 s). */
  idleTimeoutMs?: number;
}

export interface StatResult {
  /** Total size in bytes when the source can tell without reading the body. */
  size?: number;
}

export interface Opened {
  /** The bytes from `start` to the end of the artifact. */
  body: AsyncIterable<Uint8Array>;
  /**
   * Where `body` actually starts. Equal to the requested offset when the server honoured the
   * range; 0 when it ignored it and sent everything (the engine then restarts its hash).
   */
  start: number;
  /** Total artifact size if known (Content-Length / Content-Range / object size). */
  totalSize?: number;
  /** Release the connection early (on abort or when the engine gives up on this body). */
  destroy(): void;
}

export interface Source {
  /** Redacted location for logs and error messages (never carries credentials). */
  readonly describe: string;
  /** Cheap metadata; may be `{}` when the size is only known once the body is opened. */
  stat(signal: AbortSignal): Promise<StatResult>;
  /** Read from `offset` (a byte index) to the end. */
  open(offset: number, signal: AbortSignal): Promise<Opened>;
  /**
   * Optional: read exactly [start, end). Sources that implement it get parallel ranged downloads
   * for large artifacts (the S3 path); the engine still hashes everything strictly in order.
   */
  readRange?(start: number, end: number, signal: AbortSignal): Promise<Opened>;
  /** Release pooled connections. */
  close(): Promise<void>;
}

/** A failure worth retrying (after backoff, from the byte offset already received). */
export class RetryableError extends Error {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RetryableError';
  }
}

export function isRetryableError(e: unknown): e is RetryableError {
  return e instanceof RetryableError;
}

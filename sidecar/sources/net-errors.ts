// Classifying low-level network failures shared by the HTTP and S3 sources: TLS problems are
// permanent (retrying cannot fix a wrong CA), connection trouble is transient.
import { ModelpinError } from '../../src/errors.js';
import { RetryableError } from './types.js';

const TLS_CODE = /CERT|SELF_SIGNED|ERR_TLS|ERR_SSL|UNABLE_TO_|HOSTNAME_MISMATCH/;

function codeOf(e: unknown): string {
  let cur: unknown = e;
  // undici and the AWS SDK wrap the socket error; the interesting code may sit in `cause`.
  for (let i = 0; i < 4 && cur !== null && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== '') return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return '';
}

function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : '';
  return cause && !m.includes(cause) ? `${m}: ${cause}` : m;
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError' && codeOf(e) === 'ABORT_ERR');
}

/**
 * Turn a thrown network error into a ModelpinError (permanent) or RetryableError (transient).
 * Abort errors pass through untouched so the caller can tell cancellation from failure.
 */
export function classifyNetworkError(e: unknown, describe: string, caFile?: string): unknown {
  if (e instanceof ModelpinError || e instanceof RetryableError) return e;
  if (isAbortError(e)) return e;
  const code = codeOf(e);
  if (TLS_CODE.test(code)) {
    return new ModelpinError('MODELPIN_E_FETCH_TLS', `TLS verification failed for ${describe}: ${code}`, {
      hint: caFile
        ? `the server's certificate does not chain to the system roots or ${caFile}, or its name does not match the URL`
        : 'if the server uses a private CA, pass its PEM bundle with --ca-file (MODELPIN_CA_FILE)',
      cause: e,
    });
  }
  return new RetryableError(`${describe}: ${code ? code + ' ' : ''}${messageOf(e)}`, { cause: e });
}

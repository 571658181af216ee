// The one error module. Every user-facing failure is a ModelpinError with a stable code that
// callers and tests match on; messages say what went wrong, where, and how to fix it.
// The README's error-code table is checked against CATALOG by a unit test, so add new codes here.

export const CATALOG = {
  // --- usage and CLI ---------------------------------------------------------------------------
  MODELPIN_E_USAGE: 'A command-line flag, argument or parameter is missing or malformed.',
  MODELPIN_E_PARAM: 'An Argo CD plugin parameter (ARGOCD_APP_PARAMETERS / ARGOCD_ENV_*) is malformed.',
  MODELPIN_E_INTERNAL: 'A bug in modelpin; please report it with the command that triggered it.',
  // --- spec loading and validation -------------------------------------------------------------
  MODELPIN_E_SPEC_NOT_FOUND: 'The spec file (or modelpin.yaml in the given directory) does not exist.',
  MODELPIN_E_SPEC_TOO_LARGE: 'The spec file is larger than the size limit.',
  MODELPIN_E_SPEC_YAML: 'The spec is not well-formed YAML.',
  MODELPIN_E_SPEC_ALIAS: 'The spec uses YAML aliases beyond the safe limit (alias bomb).',
  MODELPIN_E_SPEC_INVALID: 'A field has the wrong type, value or shape, or a required field is missing.',
  MODELPIN_E_SPEC_UNKNOWN_FIELD: 'The spec contains a field modelpin does not know (often a typo).',
  MODELPIN_E_SPEC_INLINE_CREDENTIAL: 'A secret value is written in the spec; reference a Secret via credentials.secretName.',
  MODELPIN_E_SPEC_UNPINNED: 'spec.model.digest is missing: the artifact is not pinned.',
  MODELPIN_E_SPEC_DIGEST: 'A digest is not of the form sha256:<64 lowercase hex>.',
  MODELPIN_E_SPEC_URI: 'An artifact URI is malformed or uses an unsupported scheme.',
  MODELPIN_E_SPEC_WRITE: 'The spec file could not be written (permissions, full disk); it was left unchanged.',
  MODELPIN_E_SPEC_CLUSTER: 'The requested cluster has no entry under spec.clusters.',
  MODELPIN_E_IMAGE_UNPINNED: 'An image is not pinned by digest (an error with --strict).',
  // --- render ----------------------------------------------------------------------------------
  MODELPIN_E_KUBE_VERSION: 'KUBE_VERSION / --kube-version is not a Kubernetes version like 1.30 or 1.30.11.',
  MODELPIN_E_RENDER_EMPTY: 'Rendering produced no objects (refused: Argo CD would prune everything).',
  // --- fetch and verify ------------------------------------------------------------------------
  MODELPIN_E_FETCH_NOT_FOUND: 'The artifact does not exist at the URI (HTTP 404, NoSuchKey, missing file).',
  MODELPIN_E_FETCH_DENIED: 'The artifact store refused the credentials (HTTP 401/403, AccessDenied).',
  MODELPIN_E_FETCH_NETWORK: 'The artifact could not be downloaded after retries (resets, 5xx, timeouts).',
  MODELPIN_E_FETCH_REDIRECT: 'Too many redirects, a redirect loop, or a redirect to an unsupported scheme.',
  MODELPIN_E_FETCH_TLS: 'TLS verification failed (unknown CA, wrong host name, expired certificate).',
  MODELPIN_E_DIGEST_MISMATCH: 'The downloaded bytes do not match the pinned digest; nothing was cached.',
  MODELPIN_E_SIZE_EXCEEDED: 'The artifact is larger than spec.model.size or a configured limit.',
  MODELPIN_E_SIGNATURE: 'The detached signature is missing, malformed, or does not verify with the public key.',
  MODELPIN_E_ARCHIVE: 'The tar archive is unsafe (absolute paths, .., escaping links, devices) or too large.',
  MODELPIN_E_CACHE: 'The cache directory cannot be created, written or read, or its volume is full.',
  MODELPIN_E_OCI_MANIFEST: 'An OCI registry served a manifest that is malformed, too large, an index, or of an unsupported media type.',
  MODELPIN_E_OCI_LAYER: 'No single layer of the OCI manifest is the model (none matches, or several do); choose one with ?title= or ?mediaType=.',
  MODELPIN_E_OCI_INSECURE: 'Registry credentials would go over plain HTTP to a host that is neither loopback nor in MODELPIN_OCI_INSECURE_REGISTRIES.',
  // --- serve -----------------------------------------------------------------------------------
  MODELPIN_E_MODEL_LOAD: 'ONNX Runtime could not load the verified model.',
  MODELPIN_E_SERVE_CONFIG: 'The sidecar configuration (flags / MODELPIN_* environment) is invalid, or its port cannot be bound.',
  MODELPIN_E_WARMUP: 'An explicit warm-up sample is invalid or failed, so the model never turns ready.',
  // --- serving requests (answered to the client, never an exit status) -------------------------
  MODELPIN_E_INFER_INVALID: 'An inference request is malformed or does not fit the model (HTTP 400, gRPC INVALID_ARGUMENT).',
  MODELPIN_E_NOT_FOUND: 'No such model, version or route on this server (HTTP 404, gRPC NOT_FOUND).',
  MODELPIN_E_METHOD: 'A known route was called with the wrong HTTP method (HTTP 405 with Allow).',
  MODELPIN_E_NOT_READY: 'The model is not loaded yet, or the server is draining (HTTP 503, gRPC UNAVAILABLE).',
  MODELPIN_E_OVERLOADED: 'Too many requests are queued or held; retry shortly (HTTP 503 + Retry-After, gRPC RESOURCE_EXHAUSTED).',
  MODELPIN_E_TOO_LARGE: 'A request is larger than a configured limit (HTTP 413, gRPC RESOURCE_EXHAUSTED).',
  MODELPIN_E_INFER_FAILED: 'ONNX Runtime failed while running a request, or the server hit a bug (HTTP 500, gRPC INTERNAL).',
  // --- pinning workflow ------------------------------------------------------------------------
  MODELPIN_E_LOCK_STALE: 'modelpin lock --check: the pin in the spec is missing or out of date.',
  MODELPIN_E_GATE_FAILED: 'A promotion gate failed: an MLflow metric is missing or outside its threshold.',
  MODELPIN_E_MLFLOW: 'The MLflow tracking server returned an error or an unexpected answer.',
  MODELPIN_E_RESOLVE_TOO_LARGE: 'Render-time resolution would need a full download larger than the limit.',
  MODELPIN_E_PUBLISH: 'Uploading the artifact failed.',
  MODELPIN_E_GIT: 'A git command failed (not a repository, file never committed, git missing).',
  MODELPIN_E_ROLLBACK_TARGET: 'modelpin rollback found nothing to roll back to: no earlier pin, an unknown commit, or a commit without a pin.',
  MODELPIN_E_ROLLBACK_DIRTY: 'modelpin rollback refused: the spec has uncommitted changes other than the rollback.',
} as const;

export type ErrorCode = keyof typeof CATALOG;

/**
 * Codes that were once in the catalog and must never be reused for another meaning (clients and
 * alerts match on them). Empty so far; move a retired code here instead of deleting it.
 */
export const RETIRED_CODES: readonly string[] = [];

/** gRPC status codes (grpc/grpc doc/statuscodes.md) used by the serving errors. */
export const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/**
 * How a serving error travels on each protocol. Both transports answer through this one table, so
 * a REST 400 and a gRPC INVALID_ARGUMENT always carry the same message for the same mistake.
 */
export const WIRE_STATUS: Partial<Record<ErrorCode, { http: number; grpc: number }>> = {
  MODELPIN_E_INFER_INVALID: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  MODELPIN_E_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND },
  MODELPIN_E_METHOD: { http: 405, grpc: GRPC.UNIMPLEMENTED },
  MODELPIN_E_NOT_READY: { http: 503, grpc: GRPC.UNAVAILABLE },
  MODELPIN_E_OVERLOADED: { http: 503, grpc: GRPC.RESOURCE_EXHAUSTED },
  MODELPIN_E_TOO_LARGE: { http: 413, grpc: GRPC.RESOURCE_EXHAUSTED },
  MODELPIN_E_INFER_FAILED: { http: 500, grpc: GRPC.INTERNAL },
};

/** The wire status of any error: a coded serving error's own, else 500 / INTERNAL. */
export function wireStatus(err: unknown): { http: number; grpc: number } {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && WIRE_STATUS[code as ErrorCode]) || { http: 500, grpc: GRPC.INTERNAL };
}

/** Exit status for a user error; usage errors exit 2 (yargs convention), bugs exit 70 (EX_SOFTWARE). */
export function exitCodeFor(code: ErrorCode): number {
  if (code === 'MODELPIN_E_USAGE') return 2;
  if (code === 'MODELPIN_E_INTERNAL') return 70;
  return 1;
}

/** Where a problem is: a file position and/or a field path such as `spec.model.digest`. */
export interface Location {
  file?: string;
  line?: number;
  col?: number;
  path?: string;
}

export interface Problem extends Location {
  code: ErrorCode;
  message: string;
  /** How to fix it, phrased as an instruction. */
  hint?: string;
}

export class ModelpinError extends Error {
  readonly code: ErrorCode;
  /** All problems found at once (validation reports every problem, not only the first). */
  readonly problems: readonly Problem[];

  constructor(code: ErrorCode, message: string, opts: { hint?: string; location?: Location; problems?: Problem[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ModelpinError';
    this.code = code;
    this.problems = Object.freeze(
      opts.problems && opts.problems.length > 0
        ? opts.problems
        : [{ code, message, ...(opts.hint === undefined ? {} : { hint: opts.hint }), ...opts.location }],
    );
  }

  /** A ModelpinError for several problems; its code is the first problem's. */
  static fromProblems(problems: Problem[]): ModelpinError {
    const first = problems[0];
    if (!first) throw new Error('fromProblems needs at least one problem');
    const summary = problems.length === 1 ? first.message : `${problems.length} problems found`;
    return new ModelpinError(first.code, summary, { problems });
  }
}

/**
 * Matched by shape as well as by class: two bundles (or a worker thread) each carry their own
 * ModelpinError class, and an error from the other copy must still be treated as a user error.
 */
export function isModelpinError(e: unknown): e is ModelpinError {
  if (e instanceof ModelpinError) return true;
  const x = e as { code?: unknown; problems?: unknown } | null;
  return e instanceof Error && typeof x!.code === 'string' && x!.code in CATALOG && Array.isArray(x!.problems);
}

export function formatLocation(loc: Location): string {
  let pos = '';
  if (loc.file !== undefined) {
    pos = loc.file;
    if (loc.line !== undefined) pos += `:${loc.line}` + (loc.col !== undefined ? `:${loc.col}` : '');
  }
  if (loc.path !== undefined && loc.path !== '') pos += pos ? ` (${loc.path})` : loc.path;
  return pos;
}

/**
 * Human-readable, one block per problem, for stderr:
 *   modelpin.yaml:7:13 (spec.model.digest): MODELPIN_E_SPEC_DIGEST: digest must be sha256:<64 hex>
 *     fix: run `modelpin lock` to compute it
 */
export function formatError(err: ModelpinError): string {
  return err.problems
    .map((p) => {
      const where = formatLocation(p);
      const head = `${where ? where + ': ' : ''}${p.code}: ${p.message}`;
      return p.hint ? `${head}\n  fix: ${p.hint}` : head;
    })
    .join('\n');
}

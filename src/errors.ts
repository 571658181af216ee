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
  // --- serve -----------------------------------------------------------------------------------
  MODELPIN_E_MODEL_LOAD: 'ONNX Runtime could not load the verified model.',
  MODELPIN_E_SERVE_CONFIG: 'The sidecar configuration (flags / MODELPIN_* environment) is invalid.',
  // --- pinning workflow ------------------------------------------------------------------------
  MODELPIN_E_LOCK_STALE: 'modelpin lock --check: the pin in the spec is missing or out of date.',
  MODELPIN_E_GATE_FAILED: 'A promotion gate failed: an MLflow metric is missing or outside its threshold.',
  MODELPIN_E_MLFLOW: 'The MLflow tracking server returned an error or an unexpected answer.',
  MODELPIN_E_RESOLVE_TOO_LARGE: 'Render-time resolution would need a full download larger than the limit.',
  MODELPIN_E_PUBLISH: 'Uploading the artifact failed.',
  MODELPIN_E_GIT: 'A git command failed (not a repository, file never committed, git missing).',
} as const;

export type ErrorCode = keyof typeof CATALOG;

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

export function isModelpinError(e: unknown): e is ModelpinError {
  return e instanceof ModelpinError;
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

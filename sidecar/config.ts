// The sidecar's configuration: `modelpin serve` flags and their MODELPIN_<UPPER_SNAKE> variables
// → one frozen ServeConfig, or every problem at once (like parseSpec for specs). The flag table
// below is the only list of serve flags: the CLI builds its options from it, and the README's
// configuration table is checked against it.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { resolveLocalUri } from '../src/artifact-uri.js';
import { parseDigest } from '../src/digest.js';
import { isModelpinError, ModelpinError, type Problem } from '../src/errors.js';
import { quote } from '../src/quote.js';
import type { OrtOptions } from './serve/ort-tensors.js';

type Kind = 'string' | 'int' | 'bool' | 'choice';

export interface FlagDef {
  name: string;
  kind: Kind;
  describe: string;
  /** What the README and --help show as the default; the value itself comes from DEFAULTS. */
  required?: boolean;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** Also a `modelpin fetch` flag (the fetch subset). */
  fetch?: boolean;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const SERVE_FLAGS: readonly FlagDef[] = [
  // --- what to fetch (shared with `modelpin fetch`) ---------------------------------------------
  { name: 'uri', kind: 'string', required: true, fetch: true, describe: 'artifact URI: s3://, https://, http://, file:// (or a path), models:/' },
  { name: 'digest', kind: 'string', required: true, fetch: true, describe: 'the pin, sha256:<64 hex>; nothing else is ever loaded' },
  { name: 'format', kind: 'choice', choices: ['onnx', 'tar'], fetch: true, describe: 'a single .onnx, or a .tar/.tar.gz holding model files' },
  { name: 'entry', kind: 'string', fetch: true, describe: 'path of the .onnx inside a tar' },
  { name: 'size', kind: 'int', min: 0, fetch: true, describe: 'expected size in bytes; a larger download is refused' },
  { name: 'cache-dir', kind: 'string', fetch: true, describe: 'content-addressed artifact cache (the pod\'s emptyDir)' },
  { name: 'credentials-dir', kind: 'string', fetch: true, describe: 'a mounted Secret, one file per key' },
  { name: 'ca-file', kind: 'string', fetch: true, describe: 'extra PEM CA bundle for HTTPS, added to the system roots' },
  { name: 'signature-uri', kind: 'string', fetch: true, describe: 'detached signature (default <uri>.sig; checked with --public-key)' },
  { name: 'public-key', kind: 'string', fetch: true, describe: 'PEM public key (ECDSA P-256 or Ed25519): a valid signature becomes mandatory' },
  { name: 'log-level', kind: 'choice', choices: LOG_LEVELS, fetch: true, describe: 'JSON log lines on stderr at this level and above' },
  // --- serving --------------------------------------------------------------------------------
  { name: 'name', kind: 'string', required: true, describe: 'served model name: /v2/models/<name>' },
  { name: 'model-version', kind: 'string', describe: 'served version: /v2/models/<name>/versions/<v>' },
  { name: 'port', kind: 'int', min: 0, max: 65535, describe: 'HTTP port; 0 picks a free port (the "listening" log line says which)' },
  { name: 'grpc-port', kind: 'int', min: 0, max: 65535, describe: 'gRPC port (inference.GRPCInferenceService, health, reflection); 0 turns gRPC off' },
  { name: 'host', kind: 'string', describe: 'address to bind (default: all interfaces)' },
  { name: 'workers', kind: 'int', min: 1, max: 64, describe: 'inference worker threads, each with its own ONNX Runtime session (Triton\'s instance count)' },
  { name: 'max-batch-size', kind: 'int', min: 1, max: 4096, describe: 'dynamic batching: rows per ONNX Runtime run; 1 = off. On only after the start-up check finds rows independent' },
  { name: 'batching-force', kind: 'bool', describe: 'skip the start-up row-independence check and batch anyway (your assertion that rows never interact)' },
  { name: 'max-batch-delay-ms', kind: 'int', min: 0, max: 1000, describe: 'under load, how long to hold a partial batch (an idle server never waits)' },
  { name: 'max-queue', kind: 'int', min: 1, describe: 'requests queued beyond this get 503 + Retry-After' },
  { name: 'max-request-rows', kind: 'int', min: 1, describe: 'rows (dimension 0) one request may carry when batching is off; with batching, --max-batch-size' },
  { name: 'max-body-bytes', kind: 'int', min: 1, describe: 'larger request bodies get 413' },
  { name: 'threads', kind: 'int', min: 0, describe: 'ONNX Runtime intra-op threads per worker (0 = one per core)' },
  { name: 'inter-op-threads', kind: 'int', min: 0, describe: 'ONNX Runtime inter-op threads (parallel execution mode only)' },
  { name: 'graph-optimization-level', kind: 'choice', choices: ['disabled', 'basic', 'extended', 'all'], describe: 'ONNX Runtime graph optimizations at load' },
  { name: 'execution-mode', kind: 'choice', choices: ['sequential', 'parallel'], describe: 'ONNX Runtime execution mode' },
  { name: 'memory-arena', kind: 'bool', describe: 'ONNX Runtime CPU memory arena' },
  { name: 'memory-pattern', kind: 'bool', describe: 'ONNX Runtime memory pattern optimization' },
  { name: 'optimized-model-cache', kind: 'bool', describe: 'keep ONNX Runtime\'s optimized graph in the cache (trusts the cache volume; see the README)' },
  { name: 'warmup-file', kind: 'string', describe: 'JSON file: one V2 inference request body or an array of them, run before ready; a failure keeps the server unready' },
  { name: 'warmup-uri', kind: 'string', describe: 'like --warmup-file, fetched and verified like the model (needs --warmup-digest)' },
  { name: 'warmup-digest', kind: 'string', describe: 'the pin of --warmup-uri, sha256:<64 hex>' },
  { name: 'warmup-auto', kind: 'bool', describe: 'without explicit samples, warm up with generated inputs (best effort: a failure only warns)' },
  { name: 'drain-timeout-seconds', kind: 'int', min: 0, describe: 'bound from SIGTERM to exit, delay included; exit non-zero if work is cut off' },
  { name: 'drain-delay-seconds', kind: 'int', min: 0, describe: 'after SIGTERM keep answering (unready) this long, so the pod leaves the endpoints first; SIGINT skips it' },
  { name: 'access-log', kind: 'bool', describe: 'one JSON log line per request (method, path, status, duration); also on at --log-level debug' },
];

/** The image sets MODELPIN_CACHE_DIR to its volume; elsewhere the user's cache directory. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.cache'), 'modelpin');
}

export const DEFAULTS = {
  format: 'onnx',
  'log-level': 'info',
  port: 8080,
  'grpc-port': 8081,
  workers: 1,
  // Off unless asked for: concatenating requests is only correct for models whose rows never
  // interact, which the start-up check then confirms.
  'max-batch-size': 1,
  'batching-force': false,
  'max-batch-delay-ms': 0,
  'max-queue': 1024,
  'max-request-rows': 1024,
  'max-body-bytes': 16 * 1024 * 1024,
  threads: 1,
  'graph-optimization-level': 'all',
  'execution-mode': 'sequential',
  'memory-arena': true,
  'memory-pattern': true,
  'optimized-model-cache': false,
  'warmup-auto': true,
  'drain-timeout-seconds': 25,
  // Kubernetes removes a terminating pod from Service endpoints asynchronously; refusing
  // connections at once would fail requests still routed here for a few seconds.
  'drain-delay-seconds': 5,
  'access-log': false,
} as const satisfies Record<string, string | number | boolean>;

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServeConfig {
  readonly uri: string;
  readonly digest: string;
  readonly format: 'onnx' | 'tar';
  readonly entry?: string;
  readonly size?: number;
  readonly cacheDir: string;
  readonly credentialsDir?: string;
  readonly caFile?: string;
  readonly signatureUri?: string;
  readonly publicKey?: string;
  readonly logLevel: LogLevel;
  readonly name: string;
  readonly modelVersion?: string;
  readonly port: number;
  /** 0: no gRPC server. */
  readonly grpcPort: number;
  readonly host?: string;
  readonly workers: number;
  readonly maxBatchSize: number;
  readonly batchingForce: boolean;
  readonly maxBatchDelayMs: number;
  readonly maxQueue: number;
  readonly maxRequestRows: number;
  readonly maxBodyBytes: number;
  readonly ort: Readonly<OrtOptions>;
  readonly optimizedModelCache: boolean;
  readonly warmup: { readonly file?: string; readonly uri?: string; readonly digest?: string; readonly auto: boolean };
  readonly drainTimeoutSeconds: number;
  readonly drainDelaySeconds: number;
  readonly accessLog: boolean;
}

/** `--max-batch-size` → `MODELPIN_MAX_BATCH_SIZE`. */
export const envName = (flag: string): string => `MODELPIN_${flag.toUpperCase().replaceAll('-', '_')}`;

type Raw = Record<string, unknown>;

/**
 * Build the config from parsed flags (raw strings/booleans as given) and the environment; a flag
 * wins over its variable. Every problem is reported at once, each naming the flag (or variable)
 * and quoting the value as given.
 */
export function serveConfig(flags: Raw, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ServeConfig {
  const problems: Problem[] = [];
  const value = (f: FlagDef): { v: unknown; from: string } | undefined => {
    const given = flags[f.name];
    if (given !== undefined) return { v: given, from: `--${f.name}` };
    const e = env[envName(f.name)];
    if (e !== undefined && e !== '') return { v: e, from: envName(f.name) };
    return undefined;
  };
  const out: Record<string, unknown> = {};
  for (const f of SERVE_FLAGS) {
    const got = value(f);
    const dflt = (DEFAULTS as Record<string, unknown>)[f.name];
    if (got === undefined) {
      if (f.required) problems.push({ code: 'MODELPIN_E_USAGE', message: `--${f.name} is required`, hint: `pass --${f.name} (or set ${envName(f.name)})` });
      else if (dflt !== undefined) out[f.name] = dflt;
      continue;
    }
    if (Array.isArray(got.v)) {
      problems.push(problem(`${got.from} is given more than once (${got.v.map((x) => quote(x)).join(', ')})`, `pass --${f.name} once`));
      continue;
    }
    const parsed = parse(f, got.v);
    if (typeof parsed === 'object' && parsed !== null && 'problem' in parsed) {
      problems.push(problem(`${got.from} ${parsed.problem}, got ${quote(got.v)}`, `set ${got.from} to ${parsed.want}`));
      continue;
    }
    out[f.name] = parsed;
  }
  for (const k of ['digest', 'warmup-digest']) {
    if (typeof out[k] !== 'string') continue;
    try {
      parseDigest(out[k] as string, { path: `--${k}` });
    } catch (e) {
      if (!isModelpinError(e)) throw e;
      problems.push(...e.problems);
    }
  }
  if (out['warmup-uri'] !== undefined && out['warmup-digest'] === undefined) {
    problems.push(problem('--warmup-uri needs --warmup-digest (the warm-up file is verified like the model)', 'pass --warmup-digest sha256:<hex of the file>'));
  }
  if (out['warmup-file'] !== undefined && out['warmup-uri'] !== undefined) {
    problems.push(problem('--warmup-file and --warmup-uri are both set', 'pass one of them'));
  }
  if (problems.length > 0) throw ModelpinError.fromProblems(problems);
  const str = (k: string) => out[k] as string | undefined;
  // A relative path works on the command line, as for `modelpin fetch` (a spec refuses it).
  const local = (k: string) => (str(k) === undefined ? undefined : resolveLocalUri(str(k)!, cwd));
  const num = (k: string) => out[k] as number;
  const bool = (k: string) => out[k] as boolean;
  const cfg: ServeConfig = {
    uri: local('uri')!,
    digest: str('digest')!,
    format: str('format') as 'onnx' | 'tar',
    ...opt('entry', str('entry')),
    ...opt('size', out.size as number | undefined),
    cacheDir: str('cache-dir') ?? defaultCacheDir(env),
    ...opt('credentialsDir', str('credentials-dir')),
    ...opt('caFile', str('ca-file')),
    ...opt('signatureUri', local('signature-uri')),
    ...opt('publicKey', str('public-key')),
    logLevel: str('log-level') as LogLevel,
    name: str('name')!,
    ...opt('modelVersion', str('model-version')),
    port: num('port'),
    grpcPort: num('grpc-port'),
    ...opt('host', str('host')),
    workers: num('workers'),
    maxBatchSize: num('max-batch-size'),
    batchingForce: bool('batching-force'),
    maxBatchDelayMs: num('max-batch-delay-ms'),
    maxQueue: num('max-queue'),
    maxRequestRows: num('max-request-rows'),
    maxBodyBytes: num('max-body-bytes'),
    ort: Object.freeze({
      ...(num('threads') > 0 ? { intraOpThreads: num('threads') } : {}),
      ...(out['inter-op-threads'] ? { interOpThreads: num('inter-op-threads') } : {}),
      graphOptimizationLevel: str('graph-optimization-level') as OrtOptions['graphOptimizationLevel'],
      executionMode: str('execution-mode') as OrtOptions['executionMode'],
      enableCpuMemArena: bool('memory-arena'),
      enableMemPattern: bool('memory-pattern'),
    }),
    optimizedModelCache: bool('optimized-model-cache'),
    warmup: Object.freeze({
      ...opt('file', str('warmup-file')),
      ...opt('uri', local('warmup-uri')),
      ...opt('digest', str('warmup-digest')),
      auto: bool('warmup-auto'),
    }),
    drainTimeoutSeconds: num('drain-timeout-seconds'),
    drainDelaySeconds: num('drain-delay-seconds'),
    accessLog: bool('access-log'),
  };
  return Object.freeze(cfg);
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

function problem(message: string, hint: string): Problem {
  return { code: 'MODELPIN_E_SERVE_CONFIG', message, hint };
}

type Parsed = string | number | boolean | { problem: string; want: string };

function parse(f: FlagDef, v: unknown): Parsed {
  switch (f.kind) {
    case 'string':
      if (typeof v !== 'string' || v === '') return { problem: 'must be a non-empty string', want: 'a value' };
      return v;
    case 'choice':
      if (typeof v !== 'string' || !f.choices!.includes(v)) return { problem: `must be one of ${f.choices!.join(', ')}`, want: `one of ${f.choices!.join(', ')}` };
      return v;
    case 'bool':
      if (v === true || v === 'true' || v === '1') return true;
      if (v === false || v === 'false' || v === '0') return false;
      return { problem: 'must be true or false', want: 'true or false' };
    case 'int': {
      const range = f.max === undefined ? `≥ ${f.min ?? 0}` : `from ${f.min ?? 0} to ${f.max}`;
      const want = { problem: `must be an integer ${range}`, want: `a whole number ${range}` };
      const s = typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string' || !/^-?\d+$/.test(s.trim())) return want;
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < (f.min ?? 0) || (f.max !== undefined && n > f.max)) return want;
      return n;
    }
  }
}

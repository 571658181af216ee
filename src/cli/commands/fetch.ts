// `modelpin fetch`: fetch, verify and cache one artifact, print the verified path on stdout.
// The same code runs in `modelpin serve` at pod start; alone it is an init container for apps
// that load models themselves. Flags are also read from MODELPIN_<FLAG> environment variables.
import type { Argv, CommandModule } from 'yargs';
import { resolveLocalUri } from '../../artifact-uri.js';
import { ModelpinError } from '../../errors.js';
import { handle } from '../run.js';

interface FetchArgs {
  uri: string;
  digest: string;
  format: 'onnx' | 'tar';
  entry: string;
  size?: number;
  'cache-dir'?: string;
  'credentials-dir'?: string;
  'ca-file'?: string;
  'signature-uri'?: string;
  'public-key'?: string;
  'log-level'?: 'debug' | 'info' | 'warn' | 'error';
}

// Each flag is also read from MODELPIN_<FLAG> (e.g. MODELPIN_CACHE_DIR), as with yargs'
// .env('MODELPIN') but only for the flags declared here: .env() would turn every other MODELPIN_*
// variable in a pod (MODELPIN_S3_FORCE_PATH_STYLE, MODELPIN_HTTP_TOKEN, ...) into an "unknown
// argument" under .strict(). Command-line flags win over the environment.
function fromEnv(flag: string): string | undefined {
  return process.env[`MODELPIN_${flag.toUpperCase().replace(/-/g, '_')}`] || undefined;
}
function numberFromEnv(flag: string): number | undefined {
  const v = fromEnv(flag);
  return v === undefined ? undefined : Number(v);
}

export const fetchCommand: CommandModule<object, FetchArgs> = {
  command: 'fetch',
  describe: 'Fetch an artifact, verify its digest (and signature), cache it, print its path',
  builder: (y: Argv) =>
    y
      .option('uri', { type: 'string', demandOption: !fromEnv('uri'), default: fromEnv('uri'), describe: 's3://bucket/key[?versionId=], https://..., file:///path' })
      .option('digest', { type: 'string', demandOption: !fromEnv('digest'), default: fromEnv('digest'), describe: 'the pin: sha256:<64 hex>' })
      .option('format', { choices: ['onnx', 'tar'] as const, default: fromEnv('format') ?? 'onnx', describe: 'a single .onnx, or a .tar/.tar.gz to extract' })
      .option('entry', { type: 'string', default: fromEnv('entry') ?? 'model.onnx', describe: 'path of the .onnx inside a tar' })
      .option('size', { type: 'number', default: numberFromEnv('size'), describe: 'expected size in bytes; a larger download is refused' })
      .option('cache-dir', { type: 'string', default: fromEnv('cache-dir'), describe: 'content-addressed cache directory (default $XDG_CACHE_HOME/modelpin, else ~/.cache/modelpin; the sidecar image sets MODELPIN_CACHE_DIR to its volume)' })
      .option('credentials-dir', { type: 'string', default: fromEnv('credentials-dir'), describe: 'mounted Secret: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, token or authorization' })
      .option('ca-file', { type: 'string', default: fromEnv('ca-file'), describe: 'extra PEM CA bundle trusted for HTTPS' })
      .option('signature-uri', { type: 'string', default: fromEnv('signature-uri'), describe: 'detached signature (default <uri>.sig when --public-key is set)' })
      .option('public-key', { type: 'string', default: fromEnv('public-key'), describe: 'PEM public key (ECDSA P-256 or Ed25519) to check the signature with' })
      .option('log-level', { choices: ['debug', 'info', 'warn', 'error'] as const, default: fromEnv('log-level') ?? 'info' }) as unknown as Argv<FetchArgs>,
  handler: handle(runFetch),
};

async function runFetch(args: FetchArgs): Promise<void> {
  const [{ fetchArtifact }, { createLogger }, { defaultCacheDir }] = await Promise.all([
    import('../../../sidecar/fetch/index.js'),
    import('../../../sidecar/log.js'),
    import('../../../sidecar/config.js'),
  ]);
  const ctl = new AbortController();
  // The temp file is discarded on the way out; nothing partial is ever left trusted.
  const stop = (sig: NodeJS.Signals) =>
    ctl.abort(new ModelpinError('MODELPIN_E_FETCH_NETWORK', `interrupted by ${sig} before the fetch finished; nothing was cached`));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const result = await fetchArtifact({
    uri: resolveLocalUri(args.uri, process.cwd()),
    digest: args.digest,
    format: args.format,
    entry: args.entry,
    ...(args.size === undefined ? {} : { size: args.size }),
    cacheDir: args['cache-dir'] ?? defaultCacheDir(),
    ...(args['credentials-dir'] ? { credentialsDir: args['credentials-dir'] } : {}),
    ...(args['ca-file'] ? { caFile: args['ca-file'] } : {}),
    ...(args['signature-uri'] ? { signatureUri: resolveLocalUri(args['signature-uri'], process.cwd()) } : {}),
    ...(args['public-key'] ? { publicKeyPath: args['public-key'] } : {}),
    log: createLogger({ level: args['log-level'] ?? 'info', base: { component: 'fetch' } }),
    progress: 'auto',
    signal: ctl.signal,
  });
  process.stdout.write(`${result.path}\n`);
  // Bench/diagnostics: peak RSS of this process, on request only (stdout stays one line).
  if (process.env.MODELPIN_REPORT_RSS === '1') process.stderr.write(`modelpin-max-rss-kb ${process.resourceUsage().maxRSS}\n`);
}

const FAST_STRINGS = ['uri', 'digest', 'format', 'entry', 'size', 'cache-dir', 'credentials-dir', 'ca-file', 'signature-uri', 'public-key', 'log-level'] as const;

/**
 * `modelpin fetch` without loading yargs (~70 ms), for init containers and warm-cache restarts.
 * Handles only well-formed invocations; returns false for anything else (help, unknown or
 * malformed flags, missing --uri/--digest) so the yargs CLI reports it with its usual messages.
 * Meant to be dispatched from src/cli/main.ts like renderFastPath.
 */
export async function fetchFastPath(argv: readonly string[]): Promise<boolean> {
  if (argv.some((a) => a === '-h' || a === '--help' || a === '--version')) return false;
  const { parseArgs } = await import('node:util');
  let values: Partial<Record<(typeof FAST_STRINGS)[number], string>>;
  try {
    const parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(FAST_STRINGS.map((k) => [k, { type: 'string' as const }])),
    });
    values = parsed.values as typeof values;
  } catch {
    return false;
  }
  const get = (k: (typeof FAST_STRINGS)[number]) => values[k] ?? fromEnv(k);
  const uri = get('uri');
  const digest = get('digest');
  const format = get('format') ?? 'onnx';
  const level = get('log-level') ?? 'info';
  const size = get('size');
  if (!uri || !digest) return false;
  if (format !== 'onnx' && format !== 'tar') return false;
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') return false;
  if (size !== undefined && !/^\d+$/.test(size)) return false;
  const opt = (k: (typeof FAST_STRINGS)[number]) => {
    const v = get(k);
    return v === undefined ? {} : { [k]: v };
  };
  await handle(runFetch)({
    uri,
    digest,
    format,
    entry: get('entry') ?? 'model.onnx',
    ...(size === undefined ? {} : { size: Number(size) }),
    ...opt('cache-dir'),
    ...opt('credentials-dir'),
    ...opt('ca-file'),
    ...opt('signature-uri'),
    ...opt('public-key'),
    'log-level': level,
  });
  return true;
}

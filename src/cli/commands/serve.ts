// `modelpin serve`: the sidecar. Fetches and verifies the pinned artifact, loads it into ONNX
// Runtime and serves it over the Open Inference Protocol (KServe V2) REST API with dynamic
// batching and Prometheus metrics. Every flag is also read from MODELPIN_<UPPER_SNAKE>, which is
// how the rendered pod may configure it. Exit 0 after a clean SIGTERM drain; non-zero (with the
// reason) if the artifact cannot be fetched, verified or loaded — the sidecar never turns ready then.
import type { Argv, CommandModule } from 'yargs';
import { handle } from '../run.js';

interface ServeArgs {
  uri: string;
  digest: string;
  format: 'onnx' | 'tar';
  entry?: string;
  size?: number;
  name: string;
  'model-version'?: string;
  port: number;
  host?: string;
  'cache-dir': string;
  'credentials-dir'?: string;
  'ca-file'?: string;
  'signature-uri'?: string;
  'public-key'?: string;
  'max-batch-size': number;
  'max-batch-delay-ms': number;
  'max-queue': number;
  threads: number;
  'inter-op-threads'?: number;
  'max-body-bytes': number;
  'drain-timeout-seconds': number;
  'drain-delay-seconds': number;
  'log-level': 'debug' | 'info' | 'warn' | 'error';
}

export const SERVE_DEFAULTS = {
  port: 8080,
  cacheDir: '/var/cache/modelpin',
  maxBatchSize: 32,
  maxBatchDelayMs: 0,
  maxQueue: 1024,
  threads: 1,
  maxBodyBytes: 16 * 1024 * 1024,
  drainTimeoutSeconds: 25,
  // Kubernetes removes a terminating pod from Service endpoints asynchronously; refusing
  // connections at once would fail requests still routed here for a few seconds.
  drainDelaySeconds: 5,
} as const;

const SERVE_FLAGS: Record<string, 'string' | 'number'> = {
  uri: 'string',
  digest: 'string',
  format: 'string',
  entry: 'string',
  size: 'number',
  name: 'string',
  'model-version': 'string',
  port: 'number',
  host: 'string',
  'cache-dir': 'string',
  'credentials-dir': 'string',
  'ca-file': 'string',
  'signature-uri': 'string',
  'public-key': 'string',
  'max-batch-size': 'number',
  'max-batch-delay-ms': 'number',
  'max-queue': 'number',
  threads: 'number',
  'inter-op-threads': 'number',
  'max-body-bytes': 'number',
  'drain-timeout-seconds': 'number',
  'drain-delay-seconds': 'number',
  'log-level': 'string',
};

/**
 * MODELPIN_<UPPER_SNAKE> for each serve flag, as that flag's default (so a flag on the command line
 * wins). Not yargs' .env('MODELPIN'): that turns *every* MODELPIN_* variable into an argument, and
 * with .strict() the pod's MODELPIN_S3_FORCE_PATH_STYLE=true would fail as an unknown flag.
 */
function withEnvDefaults(y: Argv, env: NodeJS.ProcessEnv = process.env): Argv {
  for (const [flag, type] of Object.entries(SERVE_FLAGS)) {
    const v = env[`MODELPIN_${flag.toUpperCase().replaceAll('-', '_')}`];
    if (v === undefined || v === '') continue;
    y = y.default(flag, type === 'number' ? Number(v) : v);
  }
  return y;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Fetch, verify and serve a pinned ONNX model over the Open Inference Protocol (the sidecar)',
  builder: (y: Argv) =>
    withEnvDefaults(
      y
      .option('uri', { type: 'string', demandOption: true, describe: 'artifact URI (s3://, https://, file://, models:/)' })
      .option('digest', { type: 'string', demandOption: true, describe: 'pinned sha256:<hex>; nothing else is ever loaded' })
      .option('format', { choices: ['onnx', 'tar'] as const, default: 'onnx' as const, describe: 'artifact format' })
      .option('entry', { type: 'string', describe: 'path of the .onnx inside a tar (default model.onnx)' })
      .option('size', { type: 'number', describe: 'expected size in bytes; a larger download is refused' })
      .option('name', { type: 'string', demandOption: true, describe: 'served model name (/v2/models/<name>)' })
      .option('model-version', { type: 'string', describe: 'served version (/v2/models/<name>/versions/<v>)' })
      .option('port', { type: 'number', default: SERVE_DEFAULTS.port, describe: 'HTTP port (0 = any free port; the "listening" log line says which)' })
      .option('host', { type: 'string', describe: 'address to bind (default: all interfaces)' })
      .option('cache-dir', { type: 'string', default: SERVE_DEFAULTS.cacheDir, describe: 'content-addressed artifact cache' })
      .option('credentials-dir', { type: 'string', describe: 'mounted Secret directory with store credentials' })
      .option('ca-file', { type: 'string', describe: 'extra PEM CA bundle for HTTPS' })
      .option('signature-uri', { type: 'string', describe: 'detached signature (default <uri>.sig; checked with --public-key)' })
      .option('public-key', { type: 'string', describe: 'PEM public key: require a valid signature' })
      .option('max-batch-size', { type: 'number', default: SERVE_DEFAULTS.maxBatchSize, describe: 'rows per ONNX Runtime run; 1 disables batching' })
      .option('max-batch-delay-ms', {
        type: 'number',
        default: SERVE_DEFAULTS.maxBatchDelayMs,
        describe: 'under load, hold a partial batch at most this long (an idle server never waits)',
      })
      .option('max-queue', { type: 'number', default: SERVE_DEFAULTS.maxQueue, describe: 'queued requests beyond this get 503 + Retry-After' })
      .option('threads', { type: 'number', default: SERVE_DEFAULTS.threads, describe: 'ONNX Runtime intra-op threads (0 = one per core)' })
      .option('inter-op-threads', { type: 'number', describe: 'ONNX Runtime inter-op threads' })
      .option('max-body-bytes', { type: 'number', default: SERVE_DEFAULTS.maxBodyBytes, describe: 'larger request bodies get 413' })
      .option('drain-timeout-seconds', {
        type: 'number',
        default: SERVE_DEFAULTS.drainTimeoutSeconds,
        describe: 'on SIGTERM, exit at most this long after the signal (delay and in-flight requests included)',
      })
      .option('drain-delay-seconds', {
        type: 'number',
        default: SERVE_DEFAULTS.drainDelaySeconds,
        describe: 'on SIGTERM, keep answering (unready) this long so load balancers stop routing here first; SIGINT skips it',
      })
      .option('log-level', { choices: ['debug', 'info', 'warn', 'error'] as const, default: 'info' as const, describe: 'log verbosity' })
      .example('$0 serve --uri s3://models/fraud/model.onnx --digest sha256:… --name fraud-detector', 'serve on :8080'),
    ) as unknown as Argv<ServeArgs>,
  handler: handle(async (args: ServeArgs) => {
    const [{ startServe }, { fetchArtifact }, { createLogger }, { ModelpinError }, { parseDigest }] = await Promise.all([
      import('../../../sidecar/serve/index.js'),
      import('../../../sidecar/fetch/index.js'),
      import('../../../sidecar/log.js'),
      import('../../errors.js'),
      import('../../digest.js'),
    ]);
    // A flag given twice (or as flag and env) arrives as an array: say so instead of failing oddly later.
    for (const [k, v] of Object.entries(args)) {
      if (Array.isArray(v) && k.length > 1 && k !== '_') {
        throw new ModelpinError('MODELPIN_E_USAGE', `--${k} is given more than once (${v.map(String).join(', ')})`, { hint: `pass --${k} once` });
      }
    }
    parseDigest(args.digest, { path: '--digest' });
    const int = (flag: keyof ServeArgs, min: number): number => {
      const v = args[flag];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
        throw new ModelpinError('MODELPIN_E_SERVE_CONFIG', `--${flag} must be an integer ≥ ${min}, got ${String(v)}`, {
          hint: `set --${flag} (or MODELPIN_${flag.toUpperCase().replaceAll('-', '_')}) to a whole number`,
        });
      }
      return v;
    };
    const log = createLogger({ level: args['log-level'], base: { component: 'serve' } });
    const opt = <T>(v: T | undefined) => v;
    const handleServe = await startServe(
      {
        uri: args.uri,
        digest: args.digest,
        format: args.format,
        ...(args.entry === undefined ? {} : { entry: args.entry }),
        ...(args.size === undefined ? {} : { size: int('size', 0) }),
        name: args.name,
        ...(opt(args['model-version']) === undefined ? {} : { modelVersion: String(args['model-version']) }),
        port: int('port', 0),
        ...(args.host === undefined ? {} : { host: args.host }),
        cacheDir: args['cache-dir'],
        ...(args['credentials-dir'] === undefined ? {} : { credentialsDir: args['credentials-dir'] }),
        ...(args['ca-file'] === undefined ? {} : { caFile: args['ca-file'] }),
        ...(args['signature-uri'] === undefined ? {} : { signatureUri: args['signature-uri'] }),
        ...(args['public-key'] === undefined ? {} : { publicKey: args['public-key'] }),
        maxBatchSize: int('max-batch-size', 1),
        maxBatchDelayMs: int('max-batch-delay-ms', 0),
        maxQueue: int('max-queue', 1),
        threads: int('threads', 0),
        ...(args['inter-op-threads'] === undefined ? {} : { interOpThreads: int('inter-op-threads', 0) }),
        maxBodyBytes: int('max-body-bytes', 1),
        drainTimeoutSeconds: int('drain-timeout-seconds', 0),
        drainDelaySeconds: int('drain-delay-seconds', 0),
      },
      { fetch: fetchArtifact, log },
    );
    // SIGTERM/SIGINT: readiness off, (SIGTERM: keep answering for the drain delay,) drain, exit 0
    // (1 if the drain deadline passed).
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal });
      void handleServe.shutdown({ delay: signal === 'SIGTERM' }).then((drained) => process.exit(drained ? 0 : 1));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    try {
      await handleServe.ready;
    } catch (err) {
      if (stopping) return;
      throw err;
    }
    // Serve until a signal ends the process.
    await new Promise<never>(() => {});
  }),
};

// `modelpin render [path]`: what Argo CD runs as the plugin's generate command, and what a user
// runs on a laptop to see exactly what Argo CD will apply.
// stdout carries only manifests; warnings and errors go to stderr. Exit 0 ok, 1 user error, 2 usage.
// Settings precedence: ARGOCD_APP_PARAMETERS > ARGOCD_ENV_<Name> > KUBE_VERSION/KUBE_API_VERSIONS/ARGOCD_APP_* > flags.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Argv, CommandModule } from 'yargs';
import { handle, reportFailure } from '../run.js';
import { writeFd } from '../write-fd.js';

interface RenderArgs {
  path: string;
  cluster?: string;
  'kube-version'?: string;
  'api-versions'?: string[];
  namespace?: string;
  param?: string[];
  output: 'yaml' | 'json';
  strict?: boolean;
  resolve?: boolean;
}

/** Render-time resolution budget: Argo CD's whole request (tar transfer, generate) has 60 s. */
const DEFAULT_RESOLVE_MAX_BYTES = 256 * 1024 * 1024;

export const renderCommand: CommandModule<object, RenderArgs> = {
  command: 'render [path]',
  describe: 'Render a ModelDeployment spec into Kubernetes manifests (the Argo CD plugin command)',
  builder: (y: Argv) =>
    y
      .positional('path', { type: 'string', default: '.', describe: 'spec file, or a directory holding modelpin.yaml' })
      .option('cluster', { type: 'string', describe: 'apply the spec.clusters.<name> overlay' })
      .option('kube-version', { type: 'string', describe: 'target Kubernetes version (default 1.29; Argo CD sets KUBE_VERSION)' })
      .option('api-versions', {
        type: 'string',
        array: true,
        describe: 'APIs the cluster serves, comma-separated or repeated, as Argo CD lists them in KUBE_API_VERSIONS (monitoring.coreos.com/v1/PodMonitor renders a PodMonitor)',
      })
      .option('namespace', { type: 'string', describe: 'namespace for the objects (spec.metadata.namespace wins)' })
      .option('param', { type: 'string', array: true, describe: 'a plugin parameter as name=value (cluster, namespace, strict, resolve); repeatable' })
      .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'YAML stream, or JSON v1 List' })
      .option('strict', { type: 'boolean', describe: 'turn warnings (e.g. images not pinned by digest) into errors' })
      .option('resolve', { type: 'boolean', describe: 'pin an unpinned spec at render time (network I/O; see README)' })
      .example('$0 render', 'render ./modelpin.yaml for Kubernetes 1.29')
      .example('$0 render plugin/examples/fraud-detector --cluster local', 'render the example with its "local" overlay')
      .example('$0 render --kube-version 1.28 -o json', 'older cluster (plain sidecar container), JSON output')
      .example(
        "ARGOCD_APP_PARAMETERS='[{\"name\":\"cluster\",\"string\":\"prod-eu\"}]' KUBE_VERSION=1.30.11 $0 render",
        'reproduce what Argo CD runs for an Application with parameter cluster=prod-eu',
      ) as unknown as Argv<RenderArgs>,
  handler: handle((args: RenderArgs) => runRender(args)),
};

/**
 * `modelpin render` without yargs: Argo CD runs `modelpin render` (no arguments) for every
 * manifest generation, and loading yargs costs more than rendering. main.ts calls this before it
 * loads yargs; it returns false for anything it does not handle itself (help, --version, negated
 * flags, malformed options), and the yargs CLI then takes over with its usual messages.
 */
export async function renderFastPath(argv: readonly string[], resolver: Resolver = resolvePin, write: Writer = writeFd): Promise<boolean> {
  if (argv.some((a) => a === '-h' || a === '--help' || a === '--version' || a.startsWith('--no-'))) return false;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        cluster: { type: 'string' },
        'kube-version': { type: 'string' },
        'api-versions': { type: 'string', multiple: true },
        namespace: { type: 'string' },
        param: { type: 'string', multiple: true },
        output: { type: 'string', short: 'o' },
        strict: { type: 'boolean' },
        resolve: { type: 'boolean' },
      },
    });
  } catch {
    return false;
  }
  const v = parsed.values;
  const output = v.output ?? 'yaml';
  if (parsed.positionals.length > 1 || (output !== 'yaml' && output !== 'json')) return false;
  try {
    await runRender({
      path: parsed.positionals[0] ?? '.',
      output,
      ...(v.cluster === undefined ? {} : { cluster: v.cluster }),
      ...(v['kube-version'] === undefined ? {} : { 'kube-version': v['kube-version'] }),
      ...(v['api-versions'] === undefined ? {} : { 'api-versions': v['api-versions'] }),
      ...(v.namespace === undefined ? {} : { namespace: v.namespace }),
      ...(v.param === undefined ? {} : { param: v.param }),
      ...(v.strict === undefined ? {} : { strict: v.strict }),
      ...(v.resolve === undefined ? {} : { resolve: v.resolve }),
    }, resolver, write);
  } catch (err) {
    if (err instanceof NeedsFullCli) return false;
    reportFailure(err);
  }
  return true;
}

/**
 * Thrown where the plugin image's render-only bundle (src/cli/render-entry.ts) lacks a part: the
 * network stack for render-time resolution, the `yaml` library for YAML beyond the block subset.
 * The full CLI then runs the command.
 */
export class NeedsFullCli extends Error {}

/** Where manifests (fd 1) and warnings (fd 2) go; the render bundle's warm-up discards them. */
type Writer = (fd: 1 | 2, text: string) => Promise<void>;

type Resolver = (spec: import('../../spec/types.js').ModelDeployment) => Promise<{ uri: string; digest: string; size?: number }>;

async function runRender(args: RenderArgs, resolver: Resolver = resolvePin, write: Writer = writeFd): Promise<void> {
  const [{ settingsFromArgoEnv, settingsFromStrings, parseApiVersions }, { parseKubeVersion, DEFAULT_KUBE_VERSION }, { ModelpinError, formatError }] = await Promise.all([
    import('../../../plugin/argocd-env.js'),
    import('../../render/kube-version.js'),
    import('../../errors.js'),
  ]);

  // Flags: --param first, then the dedicated flags (more specific) on top.
  const paramValues: Record<string, string> = {};
  for (const p of args.param ?? []) {
    const eq = p.indexOf('=');
    const name = eq > 0 ? p.slice(0, eq) : '';
    if (!['cluster', 'namespace', 'strict', 'resolve'].includes(name)) {
      throw new ModelpinError('MODELPIN_E_USAGE', `--param "${p}": expected name=value with name one of cluster, namespace, strict, resolve`);
    }
    paramValues[name] = p.slice(eq + 1);
  }
  const fromFlags = { ...settingsFromStrings(paramValues, (n) => `--param ${n}`) };
  if (args.cluster !== undefined) fromFlags.cluster = args.cluster;
  if (args.namespace !== undefined) fromFlags.namespace = args.namespace;
  if (args.strict !== undefined) fromFlags.strict = args.strict;
  if (args.resolve !== undefined) fromFlags.resolve = args.resolve;

  const argo = settingsFromArgoEnv(process.env);
  const cluster = argo.cluster ?? fromFlags.cluster;
  const strict = argo.strict ?? fromFlags.strict ?? false;
  const resolve = argo.resolve ?? fromFlags.resolve ?? false;
  const namespace = argo.namespace ?? fromFlags.namespace;
  const kubeVersion =
    argo.kubeVersion ?? (args['kube-version'] !== undefined ? parseKubeVersion(args['kube-version'], '--kube-version') : DEFAULT_KUBE_VERSION);
  const apiVersions = argo.apiVersions ?? (args['api-versions'] === undefined ? undefined : args['api-versions'].flatMap(parseApiVersions));

  const [{ readSpecFile }, { renderText }] = await Promise.all([import('../spec-file.js'), import('../../render/pipeline.js')]);
  const { file, text } = await readSpecFile(args.path, argo.sourcePath === undefined ? {} : { sourcePath: argo.sourcePath });
  const result = await renderText(text, {
    file,
    kubeVersion,
    ...(apiVersions === undefined ? {} : { apiVersions }),
    ...(cluster === undefined ? {} : { cluster }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(argo.appName === undefined ? {} : { appName: argo.appName }),
    strict,
    format: args.output,
    ...(resolve ? { resolve: resolver } : {}),
  });
  if (result.warnings.length > 0) {
    const text = formatError(ModelpinError.fromProblems([...result.warnings]));
    await write(2, text.split('\n').map((l) => (l.startsWith('  ') ? l : `modelpin: warning: ${l}`)).join('\n') + '\n');
  }
  const out = result.output;
  await write(1, out);
}

/** Render-time resolution: network I/O, only when the user asked for it (parameter resolve=true). */
async function resolvePin(spec: import('../../spec/types.js').ModelDeployment) {
  const [{ resolveForRender }, { ModelpinError }] = await Promise.all([import('../pin/resolve.js'), import('../../errors.js')]);
  return resolveForRender(spec, {
    cacheDir: process.env.MODELPIN_CACHE_DIR ?? join(tmpdir(), 'modelpin-render-cache'),
    maxDownloadBytes: resolveMaxBytes(process.env.MODELPIN_RESOLVE_MAX_BYTES, ModelpinError),
    env: process.env,
    // The plugin container's own configuration, named like the sidecar's MODELPIN_* settings.
    ...(process.env.MODELPIN_CREDENTIALS_DIR ? { credentialsDir: process.env.MODELPIN_CREDENTIALS_DIR } : {}),
    ...(process.env.MODELPIN_CA_FILE ? { caFile: process.env.MODELPIN_CA_FILE } : {}),
  });
}

function resolveMaxBytes(v: string | undefined, E: typeof import('../../errors.js').ModelpinError): number {
  if (v === undefined || v === '') return DEFAULT_RESOLVE_MAX_BYTES;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new E('MODELPIN_E_USAGE', `MODELPIN_RESOLVE_MAX_BYTES "${v}" is not a positive integer`);
  return n;
}

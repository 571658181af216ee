// `modelpin lock [path]`: pin spec.model to an immutable reference and its digest, in place.
// `--check` (CI) changes nothing and exits 1 (MODELPIN_E_LOCK_STALE) when the pin is stale or missing.
import type { Argv, CommandModule } from 'yargs';
import { resolveLocalUri } from '../../artifact-uri.js';
import { handle } from '../run.js';

interface LockArgs {
  path: string;
  check?: boolean;
  uri?: string;
  'credentials-dir'?: string;
  'ca-file'?: string;
  output: 'text' | 'json';
}

export const lockCommand: CommandModule<object, LockArgs> = {
  command: 'lock [path]',
  describe: 'Resolve spec.model.uri to an immutable reference + sha256 digest and write the pin into the spec (gates checked)',
  builder: (y: Argv) =>
    y
      .positional('path', { type: 'string', default: '.', describe: 'spec file, or a directory holding modelpin.yaml' })
      .option('check', { type: 'boolean', describe: 'change nothing; exit 1 if the pin is missing or stale (for CI)' })
      .option('uri', { type: 'string', describe: 'resolve this reference instead; a moving one (alias, latest, S3 key) is followed by later locks' })
      .option('credentials-dir', { type: 'string', describe: 'directory with credential files (AWS_ACCESS_KEY_ID, MLFLOW_TRACKING_TOKEN, token, ...)' })
      .option('ca-file', { type: 'string', describe: 'extra PEM CA bundle for HTTPS stores / tracking servers' })
      .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const })
      .example('$0 lock', 'pin ./modelpin.yaml')
      .example('$0 lock deploy/fraud --check', 'CI: fail when the committed pin is stale')
      .example('$0 lock --uri models:/fraud@champion', 'pin the version the champion alias points at, and follow that alias from now on') as unknown as Argv<LockArgs>,
  handler: handle(async (args: LockArgs) => {
    const [{ lockSpecFile }, { createLogger }] = await Promise.all([import('../pin/lock.js'), import('../../../sidecar/log.js')]);
    const r = await lockSpecFile({
      path: args.path,
      env: process.env,
      log: createLogger({ level: 'warn' }),
      ...(args.check ? { check: true } : {}),
      // A plain path names a file where the user is; the spec gets its absolute file:// URI.
      ...(args.uri ? { uri: resolveLocalUri(args.uri, process.cwd()) } : {}),
      ...(args['credentials-dir'] ? { credentialsDir: args['credentials-dir'] } : {}),
      ...(args['ca-file'] ? { caFile: args['ca-file'] } : {}),
    });
    if (args.output === 'json') {
      const out = {
        file: r.file,
        changed: r.changed,
        uri: r.resolution.uri,
        digest: r.resolution.digest,
        ...(r.resolution.size === undefined ? {} : { size: r.resolution.size }),
        digestSource: r.resolution.how,
        changes: r.changes,
        ...(r.gates ? { gates: r.gates.results } : {}),
      };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return;
    }
    const { formatGateResults } = await import('../../pin/gates.js');
    const { formatChanges } = await import('../../pin/plan.js');
    const lines: string[] = [];
    if (r.gates) lines.push('gates passed:', formatGateResults(r.gates.results).replace(/^/gm, '  '));
    if (r.changed) lines.push(`pinned ${r.file}:`, formatChanges(r.changes));
    else lines.push(`${r.file} is up to date: ${r.resolution.uri} ${r.resolution.digest}`);
    process.stdout.write(lines.join('\n') + '\n');
  }),
};

// `modelpin validate`: check a spec (and every cluster overlay) without rendering anything.
// Problems go to stderr, nothing goes to stdout; exit 0 when valid, 1 otherwise.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';

interface ValidateArgs {
  path: string;
  cluster?: string;
  strict: boolean;
}

export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate [path]',
  describe: 'Check modelpin.yaml: every problem at once, with file:line:col and field path',
  builder: (y) =>
    y
      .positional('path', { type: 'string', default: '.', describe: 'Spec file, or a directory holding modelpin.yaml' })
      .option('cluster', { type: 'string', describe: 'Validate with spec.clusters.<NAME> merged over spec (default: the base, plus every overlay checked)' })
      .option('strict', { type: 'boolean', default: false, describe: 'Treat warnings (images not pinned by digest) as errors' })
      .example('$0 validate', 'Validate ./modelpin.yaml and all of its cluster overlays')
      .example('$0 validate deploy/fraud/modelpin.yaml --cluster prod-eu', 'Validate what the prod-eu cluster would get')
      .example('$0 validate --strict', 'Also fail when an image is not pinned by digest (for CI)'),
  handler: handle(async (args: ValidateArgs) => {
    const [{ readSpecFile }, { parseSpec }, { ModelpinError, formatError }] = await Promise.all([
      import('../spec-file.js'),
      import('../../spec/parse.js'),
      import('../../errors.js'),
    ]);
    const { file, text } = await readSpecFile(args.path);
    const { spec, warnings, clusters } = parseSpec(text, { file, ...(args.cluster === undefined ? {} : { cluster: args.cluster }) });
    if (warnings.length > 0) {
      const w = ModelpinError.fromProblems([...warnings]);
      if (args.strict) throw w;
      // Same format as errors, marked as warnings; the indented `fix:` lines stay as they are.
      const lines = formatError(w).split('\n').map((l) => (l.startsWith('  ') ? l : `modelpin: warning: ${l}`));
      process.stderr.write(lines.join('\n') + '\n');
    }
    const scope = args.cluster !== undefined ? `cluster ${args.cluster}` : clusters.length > 0 ? `base and ${clusters.length} cluster overlay${clusters.length === 1 ? '' : 's'} (${clusters.join(', ')})` : 'no cluster overlays';
    const warned = warnings.length > 0 ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : '';
    process.stderr.write(`modelpin: ${file}: valid ModelDeployment ${spec.metadata.name} (${scope}${warned})\n`);
  }),
};

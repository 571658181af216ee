// `modelpin rollback [path]`: write an earlier pin from the spec's git history back into the spec
// (comments kept, as lock does) and print the commit message; `--commit` makes the commit.
// What automation runs when a canary fails: see plugin/examples/rollback/.
import type { Argv, CommandModule } from 'yargs';
import { ModelpinError } from '../../errors.js';
import { handle } from '../run.js';

interface RollbackArgs {
  path: string;
  to?: string;
  steps?: number;
  from?: string;
  reason?: string;
  commit?: boolean;
  app?: string;
  output: 'text' | 'json';
}

export const rollbackCommand: CommandModule<object, RollbackArgs> = {
  command: 'rollback [path]',
  describe: 'Write the previous pin (from git history) back into the spec in place; --commit commits it',
  builder: (y: Argv) =>
    y
      .positional('path', { type: 'string', default: '.', describe: 'spec file, or a directory holding modelpin.yaml' })
      .option('to', { type: 'string', describe: 'restore the pin the spec had at this commit (see `modelpin history`)' })
      .option('steps', { type: 'number', describe: 'go back N pins (default 1), skipping pins that were already rolled back from' })
      .option('from', { type: 'string', describe: 'only if the spec pins this digest now (the one that failed); otherwise change nothing' })
      .option('reason', { type: 'string', describe: 'why, for the commit message (e.g. the failed AnalysisRun)' })
      .option('commit', { type: 'boolean', describe: 'commit the spec (only that file) with the printed message' })
      .option('app', { type: 'string', describe: 'application name for the message (default metadata.name)' })
      .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const })
      .conflicts('to', 'steps')
      .example('$0 rollback deploy/fraud', 'restore the previous pin; prints the commit message to use')
      .example('$0 rollback deploy/fraud --to a41f9e2 --commit --reason "p99 regression"', 'restore the pin of a commit, and commit')
      .example('$0 rollback deploy/fraud --from sha256:… --commit', 'automation: roll back only if that digest is still the pin') as unknown as Argv<RollbackArgs>,
  handler: handle(async (args: RollbackArgs) => {
    if (args.steps !== undefined && (!Number.isSafeInteger(args.steps) || args.steps < 1)) {
      throw new ModelpinError('MODELPIN_E_USAGE', `--steps must be a whole number ≥ 1, not ${String(args.steps)}`);
    }
    if (args.from !== undefined) {
      const { parseDigest } = await import('../../digest.js');
      parseDigest(args.from, { path: '--from' });
    }
    const { rollbackSpec } = await import('../pin/rollback.js');
    const r = await rollbackSpec({
      path: args.path,
      target: args.to !== undefined ? { commit: args.to } : { steps: args.steps ?? 1 },
      ...(args.from !== undefined ? { from: args.from } : {}),
      ...(args.reason !== undefined ? { reason: args.reason } : {}),
      ...(args.commit ? { commit: true } : {}),
      ...(args.app !== undefined ? { app: args.app } : {}),
    });
    if (args.output === 'json') {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    const { formatChanges } = await import('../../pin/plan.js');
    const lines: string[] = [];
    if (r.outcome === 'not-current') lines.push(`${r.file} pins ${r.from.digest ?? '(nothing)'}, not ${args.from}: nothing to roll back`);
    else if (r.outcome === 'already-at-target') lines.push(`${r.file} already pins ${r.to?.digest} (the pin of ${r.toCommit?.slice(0, 12)}): nothing to do`);
    else {
      lines.push(`rolled back ${r.file}:`, formatChanges(r.changes));
      if (r.untouched.length > 0) lines.push(`left as they are (they differ at ${r.toCommit?.slice(0, 12)}): ${r.untouched.join(', ')}`);
      if (r.commit) lines.push(`committed ${r.commit.slice(0, 12)}`);
      else lines.push('', 'commit it with this message (or run again with --commit):', '', r.message ?? '');
    }
    process.stdout.write(lines.join('\n').replace(/\n+$/, '') + '\n');
  }),
};

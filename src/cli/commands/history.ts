// `modelpin history [path]`: the pins a spec has had in git, newest first: what to roll back to.
import type { Argv, CommandModule } from 'yargs';
import { handle } from '../run.js';

interface HistoryArgs {
  path: string;
  app?: string;
  limit?: number;
  output: 'table' | 'json';
}

export const historyCommand: CommandModule<object, HistoryArgs> = {
  command: 'history [path]',
  describe: 'List the model pins a spec has had in git (newest first) with rollback hints',
  builder: (y: Argv) =>
    y
      .positional('path', { type: 'string', default: '.', describe: 'spec file, or a directory holding modelpin.yaml' })
      .option('app', { type: 'string', describe: 'Argo CD application name for the rollback hint (default metadata.name)' })
      .option('limit', { alias: 'n', type: 'number', describe: 'look at the last N commits of the file only' })
      .option('output', { alias: 'o', choices: ['table', 'json'] as const, default: 'table' as const })
      .example('$0 history deploy/fraud', 'the pins deploy/fraud/modelpin.yaml has had')
      .example('$0 history -o json | jq -r ".changes[1].commit"', 'the commit of the previous pin') as unknown as Argv<HistoryArgs>,
  handler: handle(async (args: HistoryArgs) => {
    const [{ specHistory }, { formatHistoryTable, rollbackHints }] = await Promise.all([import('../pin/history.js'), import('../../pin/history.js')]);
    const h = await specHistory(args.path, { ...(args.app ? { app: args.app } : {}), ...(args.limit ? { limit: args.limit } : {}) });
    if (args.output === 'json') {
      process.stdout.write(JSON.stringify(h, null, 2) + '\n');
      return;
    }
    process.stdout.write([formatHistoryTable(h.changes), '', ...rollbackHints(h.changes, h.file, h.app)].join('\n') + '\n');
  }),
};

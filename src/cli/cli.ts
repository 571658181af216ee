// The yargs CLI: every command, help, usage errors. main.ts loads it for anything but the render fast path.
// The modelpin CLI: the composition root. Commands live in ./commands/, one module each; their
// handlers import heavy edges (ONNX Runtime, the AWS SDK) lazily so `modelpin render` starts fast.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { reportFailure } from './run.js';

const cli = yargs(hideBin(process.argv))
  .scriptName('modelpin')
  .usage('$0 <command> [options]\n\nGitOps for ML models: render pinned manifests, fetch and verify artifacts, serve them.')
  .command(commands)
  .demandCommand(1, 'Name a command; see the list above.')
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version(process.env.MODELPIN_VERSION ?? '0.1.0')
  .wrap(Math.min(110, process.stdout.columns || 100))
  // Usage errors exit 2 and say what was wrong; user errors from handlers are reported by reportFailure.
  .fail((msg, err) => {
    if (err) reportFailure(err);
    else {
      process.stderr.write(`modelpin: MODELPIN_E_USAGE: ${msg}\nRun \`modelpin --help\` for usage.\n`);
      process.exit(2);
    }
  });

await cli.parseAsync();

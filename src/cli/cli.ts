// The yargs CLI: every command, help, usage errors. main.ts loads it for anything but the render fast path.
// The modelpin CLI: the composition root. Commands live in ./commands/, one module each; their
// handlers import heavy edges (ONNX Runtime, the AWS SDK) lazily so `modelpin render` starts fast.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { reportFailure } from './run.js';

// Bare `modelpin` prints the command list (on stderr: stdout stays for manifests) and exits 2.
const NO_COMMAND = 'Name a command; see the list above.';

const cli = yargs(hideBin(process.argv))
  .scriptName('modelpin')
  .usage('$0 <command> [options]\n\nGitOps for ML models: render pinned manifests, fetch and verify artifacts, serve them.')
  .command(commands)
  .demandCommand(1, NO_COMMAND)
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version(process.env.MODELPIN_VERSION ?? '0.1.0')
  .wrap(Math.min(110, process.stdout.columns || 100))
  // Usage errors exit 2 and say what was wrong; user errors from handlers are reported by reportFailure.
  .fail((msg, err, y) => {
    if (err) reportFailure(err);
    else {
      if (msg === NO_COMMAND) {
        y.showHelp((help: string) => process.stderr.write(`${help}\n\n`));
        process.stderr.write(`modelpin: MODELPIN_E_USAGE: ${msg}\n`);
      } else process.stderr.write(`modelpin: MODELPIN_E_USAGE: ${msg}\nRun \`modelpin --help\` for usage.\n`);
      process.exit(2);
    }
  });

await cli.parseAsync();

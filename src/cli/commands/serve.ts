// PLACEHOLDER: replaced by the module that implements `modelpin serve`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const serveCommand: CommandModule = {
  command: 'serve',
  describe: '(serve: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'serve is not built yet');
  }),
};

// PLACEHOLDER: replaced by the module that implements `modelpin history`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const historyCommand: CommandModule = {
  command: 'history',
  describe: '(history: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'history is not built yet');
  }),
};

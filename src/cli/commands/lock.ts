// PLACEHOLDER: replaced by the module that implements `modelpin lock`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const lockCommand: CommandModule = {
  command: 'lock',
  describe: '(lock: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'lock is not built yet');
  }),
};

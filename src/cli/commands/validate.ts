// PLACEHOLDER: replaced by the module that implements `modelpin validate`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const validateCommand: CommandModule = {
  command: 'validate',
  describe: '(validate: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'validate is not built yet');
  }),
};

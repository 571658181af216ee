// PLACEHOLDER: replaced by the module that implements `modelpin render`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const renderCommand: CommandModule = {
  command: 'render',
  describe: '(render: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'render is not built yet');
  }),
};

// PLACEHOLDER: replaced by the module that implements `modelpin fetch`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const fetchCommand: CommandModule = {
  command: 'fetch',
  describe: '(fetch: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'fetch is not built yet');
  }),
};

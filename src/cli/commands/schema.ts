// PLACEHOLDER: replaced by the module that implements `modelpin schema`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const schemaCommand: CommandModule = {
  command: 'schema',
  describe: '(schema: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'schema is not built yet');
  }),
};

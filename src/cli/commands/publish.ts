// PLACEHOLDER: replaced by the module that implements `modelpin publish`.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';
import { ModelpinError } from '../../errors.js';

export const publishCommand: CommandModule = {
  command: 'publish',
  describe: '(publish: not built yet)',
  handler: handle(() => {
    throw new ModelpinError('MODELPIN_E_INTERNAL', 'publish is not built yet');
  }),
};

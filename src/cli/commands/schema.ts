// `modelpin schema`: print the JSON Schema of modelpin.yaml for editors and CI tooling.
import type { CommandModule } from 'yargs';
import { handle } from '../run.js';

export const schemaCommand: CommandModule = {
  command: 'schema',
  describe: 'Print the JSON Schema of modelpin.yaml (for editors: # yaml-language-server: $schema=<file>)',
  builder: (y) =>
    y
      .example('$0 schema > modelpin.schema.json', 'Save the schema for your editor')
      .example('# yaml-language-server: $schema=./modelpin.schema.json', 'First line of modelpin.yaml: completion and hover help in VS Code / yaml-language-server'),
  handler: handle(async () => {
    const { schemaJson } = await import('../../spec/schema.js');
    process.stdout.write(schemaJson());
  }),
};

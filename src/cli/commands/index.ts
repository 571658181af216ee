// Every command the CLI offers, in the order `modelpin --help` lists them.
import type { CommandModule } from 'yargs';
import { renderCommand } from './render.js';
import { validateCommand } from './validate.js';
import { schemaCommand } from './schema.js';
import { fetchCommand } from './fetch.js';
import { serveCommand } from './serve.js';
import { lockCommand } from './lock.js';
import { publishCommand } from './publish.js';
import { historyCommand } from './history.js';
import { rollbackCommand } from './rollback.js';

// yargs' CommandModule generics differ per command; the array only needs the common shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  renderCommand,
  validateCommand,
  schemaCommand,
  fetchCommand,
  serveCommand,
  lockCommand,
  publishCommand,
  historyCommand,
  rollbackCommand,
];

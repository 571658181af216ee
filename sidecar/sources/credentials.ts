// Reading keys of a mounted Kubernetes Secret (one file per key). Values are secrets: they are
// returned to the caller and never logged or put into error messages.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelpinError } from '../../src/errors.js';

/** The value of `<dir>/<name>` without its trailing newline, or undefined if the key is absent. */
export function readSecretKey(dir: string | undefined, name: string): string | undefined {
  if (dir === undefined || dir === '') return undefined;
  try {
    return readFileSync(join(dir, name), 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `cannot read credential key "${name}" in ${dir}: ${code ?? String(e)}`, {
      hint: 'check that the credentials Secret is mounted and readable by the container user',
    });
  }
}

// Finding and reading the spec on disk (the CLI edge; parseSpec itself never touches the fs).
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelpinError } from '../errors.js';
import { MAX_SPEC_BYTES } from '../spec/schema.js';

export const SPEC_FILE_NAMES = ['modelpin.yaml', 'modelpin.yml'] as const;

/**
 * `pathOrDir` is a spec file, or a directory holding modelpin.yaml (or modelpin.yml).
 * The size is checked before reading so a huge file is never loaded into memory.
 * Synchronous I/O on purpose: one small file, and node:fs/promises (its FileHandle machinery is
 * loaded on first use) cost every `modelpin render` in Argo CD ~2.5 ms of start-up.
 */
export async function readSpecFile(pathOrDir: string): Promise<{ file: string; text: string }> {
  const st = statOrUndefined(pathOrDir);
  if (!st) {
    throw new ModelpinError('MODELPIN_E_SPEC_NOT_FOUND', `no spec at ${pathOrDir}: the path does not exist`, {
      hint: 'pass the path of a modelpin.yaml, or of the directory that holds it',
      location: { file: pathOrDir },
    });
  }
  let file = pathOrDir;
  if (st.isDirectory()) {
    const found = firstExisting(SPEC_FILE_NAMES.map((n) => join(pathOrDir, n)));
    if (!found) {
      throw new ModelpinError('MODELPIN_E_SPEC_NOT_FOUND', `no modelpin.yaml or modelpin.yml in directory ${pathOrDir}`, {
        hint: 'create modelpin.yaml there (see `modelpin schema` for its fields), or pass the spec file path',
        location: { file: pathOrDir },
      });
    }
    file = found;
  }
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_SPEC_BYTES) {
      throw new ModelpinError('MODELPIN_E_SPEC_TOO_LARGE', `the spec is ${size} bytes; the limit is ${MAX_SPEC_BYTES} bytes (1 MiB)`, {
        hint: 'a spec names an artifact, it does not contain one; move large content out of the spec',
        location: { file },
      });
    }
    return { file, text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

function statOrUndefined(p: string): import('node:fs').Stats | undefined {
  try {
    return statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function firstExisting(paths: string[]): string | undefined {
  for (const p of paths) {
    const st = statOrUndefined(p);
    if (st?.isFile()) return p;
  }
  return undefined;
}

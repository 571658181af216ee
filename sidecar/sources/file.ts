// file:// and plain paths. Local reads are not retried in practice (errors are permanent), but
// they go through the same engine so hashing, size limits and caching behave identically.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModelpinError } from '../../src/errors.js';
import type { Opened, Source, StatResult } from './types.js';

export function fileSource(path: string): Source {
  const abs = resolve(path);
  const describe = `file://${abs}`;
  const statOrThrow = async (): Promise<number> => {
    try {
      const st = await stat(abs);
      if (!st.isFile()) {
        throw new ModelpinError('MODELPIN_E_FETCH_NOT_FOUND', `${describe} is not a regular file`, { hint: 'point the URI at the model file itself' });
      }
      return st.size;
    } catch (e) {
      throw fileError(e, describe);
    }
  };
  return {
    describe,
    async stat(): Promise<StatResult> {
      return { size: await statOrThrow() };
    },
    async open(offset: number, signal: AbortSignal): Promise<Opened> {
      const size = await statOrThrow();
      const stream = createReadStream(abs, { start: offset, highWaterMark: 1 << 20, signal });
      // Surface open errors (EACCES) as ModelpinErrors rather than stream errors.
      await new Promise<void>((res, rej) => {
        stream.once('open', () => res());
        stream.once('error', (e) => rej(fileError(e, describe)));
      });
      return { body: stream, start: offset, totalSize: size, destroy: () => stream.destroy() };
    },
    async close() {},
  };
}

function fileError(e: unknown, describe: string): unknown {
  if (e instanceof ModelpinError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ModelpinError('MODELPIN_E_FETCH_NOT_FOUND', `${describe} does not exist`, { hint: 'check the path in --uri / spec.model.uri' });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ModelpinError('MODELPIN_E_FETCH_DENIED', `${describe} is not readable (${code})`, { hint: 'make the file readable by the user modelpin runs as' });
  }
  return e;
}

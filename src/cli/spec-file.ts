// Finding and reading the spec on disk (the CLI edge; parseSpec itself never touches the fs).
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { ModelpinError } from '../errors.js';
import { MAX_SPEC_BYTES } from '../spec/schema.js';

export const SPEC_FILE_NAMES = ['modelpin.yaml', 'modelpin.yml'] as const;

/**
 * Under Argo CD, where the repository sits: the command runs in `<extracted repo>/<app path>`, and
 * an error naming "." or a temp directory points nowhere a user can look. With `sourcePath`
 * (ARGOCD_APP_SOURCE_PATH) a spec that is not there is reported at the app's path in the repo.
 */
export interface SpecFileContext {
  sourcePath?: string;
}

/**
 * `pathOrDir` is a spec file, or a directory holding modelpin.yaml (or modelpin.yml).
 * The size is checked before reading so a huge file is never loaded into memory.
 * Synchronous I/O on purpose: one small file, and node:fs/promises (its FileHandle machinery is
 * loaded on first use) cost every `modelpin render` in Argo CD ~2.5 ms of start-up.
 */
export async function readSpecFile(pathOrDir: string, ctx: SpecFileContext = {}): Promise<{ file: string; text: string }> {
  const st = statOrUndefined(pathOrDir);
  if (!st) {
    if (ctx.sourcePath !== undefined) throw notInApp(pathOrDir, ctx.sourcePath, 'does not exist');
    throw new ModelpinError('MODELPIN_E_SPEC_NOT_FOUND', `no spec at ${pathOrDir}: the path does not exist`, {
      hint: 'pass the path of a modelpin.yaml, or of the directory that holds it',
      location: { file: pathOrDir },
    });
  }
  let file = pathOrDir;
  if (st.isDirectory()) {
    const found = firstExisting(SPEC_FILE_NAMES.map((n) => join(pathOrDir, n)));
    if (!found) {
      if (ctx.sourcePath !== undefined) throw notInApp(pathOrDir, ctx.sourcePath, 'has no modelpin.yaml or modelpin.yml');
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

/** The missing spec named by its place in the repository (ARGOCD_APP_SOURCE_PATH). */
function notInApp(pathOrDir: string, sourcePath: string, what: string): ModelpinError {
  const inRepo = repoPath(sourcePath, pathOrDir);
  const isAppPath = inRepo === repoPath(sourcePath, '.');
  return new ModelpinError(
    'MODELPIN_E_SPEC_NOT_FOUND',
    `${isAppPath ? "the Application's source path" : 'the path'} ${inRepo === '' ? '"." (the repository root)' : JSON.stringify(inRepo)} ${what} (ARGOCD_APP_SOURCE_PATH${isAppPath ? '' : ` is ${JSON.stringify(sourcePath)}`})`,
    {
      hint: `commit modelpin.yaml to ${inRepo === '' ? 'the root of the repository' : `${inRepo}/`} at the Application's target revision, or set the Application's spec.source.path to the directory that holds it`,
      location: { file: inRepo === '' ? '.' : inRepo },
    },
  );
}

/** `pathOrDir` (relative to the app directory) as a path from the repository root. */
function repoPath(sourcePath: string, pathOrDir: string): string {
  if (isAbsolute(pathOrDir)) return pathOrDir;
  const joined = posix.normalize(posix.join(sourcePath, pathOrDir));
  return joined === '.' ? '' : joined.replace(/\/$/, '');
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

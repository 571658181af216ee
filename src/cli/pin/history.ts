// `modelpin history`: read the spec's git history (git log --follow) and list the pin changes.
import { execFile } from 'node:child_process';
import { basename, dirname, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ModelpinError } from '../../errors.js';
import { pinChanges, type PinChange, type Revision } from '../../pin/history.js';
import { ROLLBACK_FROM_TRAILER, type ModelPin } from '../../pin/rollback.js';

export function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          new ModelpinError('MODELPIN_E_GIT', code === 'ENOENT' ? 'git is not installed (needed for modelpin history)' : `git ${args[0]} failed: ${stderr.trim() || err.message}`, {
            hint: code === 'ENOENT' ? 'install git and retry' : 'run modelpin history inside a git checkout, on a file that has been committed',
          }),
        );
      } else resolvePromise(stdout);
    });
  });
}

export interface HistoryResult {
  file: string;
  app: string;
  changes: PinChange[];
}

/** The pin fields of a spec document (as written; the parser's defaults, e.g. format onnx, are not added). */
function pinOf(doc: unknown): ModelPin | undefined {
  const d = doc as { metadata?: { annotations?: Record<string, unknown> }; spec?: { model?: Record<string, unknown> } } | null;
  const m = d?.spec?.model;
  if (!m || typeof m.uri !== 'string') return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const prov = (m.provenance ?? {}) as Record<string, unknown>;
  const provenance = Object.fromEntries((['repo', 'commit', 'script', 'mlflowRunId'] as const).flatMap((k) => (str(prov[k]) === undefined ? [] : [[k, str(prov[k])!]])));
  const track = str(d?.metadata?.annotations?.['modelpin.dev/track']);
  return {
    uri: m.uri,
    ...(str(m.digest) !== undefined ? { digest: str(m.digest)! } : {}),
    ...(typeof m.size === 'number' ? { size: m.size } : {}),
    ...(str(m.format) !== undefined ? { format: str(m.format)! } : {}),
    ...(str(m.entry) !== undefined ? { entry: str(m.entry)! } : {}),
    ...(Object.keys(provenance).length > 0 ? { provenance } : {}),
    ...(track !== undefined ? { track } : {}),
  };
}

/** The pin as written in the revision (plain YAML, so old revisions the current parser rejects still count). */
export async function pinAt(text: string, file: string): Promise<Pick<Revision, 'pin' | 'error'>> {
  try {
    const pin = pinOf(parseYaml(text));
    if (pin) return { pin };
  } catch {
    /* report the parser's message below */
  }
  const { parseSpec } = await import('../../spec/parse.js');
  try {
    parseSpec(text, { file, allowUnpinned: true });
    return { error: 'spec.model.uri is missing' };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export interface SpecRevisions {
  /** The spec file as given (relative to the cwd) and its path in the repository. */
  file: string;
  rel: string;
  /** Repository top level. */
  top: string;
  /** The working-tree text of the spec. */
  text: string;
  /** Every commit that touched the file, newest first (git log --follow). */
  revisions: Revision[];
}

/** The spec's committed revisions with their pins and rollback trailers: shared by history and rollback. */
export async function readRevisions(pathOrDir: string, opts: { limit?: number } = {}): Promise<SpecRevisions> {
  const { readSpecFile } = await import('../spec-file.js');
  const { file, text } = await readSpecFile(pathOrDir);
  const abs = resolve(file);
  const top = (await git(['rev-parse', '--show-toplevel'], dirname(abs))).trim();
  const rel = relative(top, abs).split('\\').join('/');
  const out = await git(
    [
      'log',
      '--follow',
      '--no-color',
      `--format=%x1e%H%x1f%aI%x1f%an <%ae>%x1f%s%x1f%(trailers:key=${ROLLBACK_FROM_TRAILER},valueonly,separator=%x20)`,
      '--name-only',
      ...(opts.limit ? [`-n${opts.limit}`] : []),
      '--',
      rel,
    ],
    top,
  );
  const revisions: Revision[] = [];
  for (const chunk of out.split('\x1e').filter((c) => c.trim() !== '')) {
    const [head = '', ...rest] = chunk.split('\n');
    const [commit = '', date = '', author = '', subject = '', trailer = ''] = head.split('\x1f');
    const path = rest.map((l) => l.trim()).find((l) => l !== '') ?? rel;
    let content: string | undefined;
    try {
      content = await git(['show', `${commit}:${path}`], top);
    } catch {
      content = undefined; // deleted in this commit
    }
    const pin = content === undefined ? { error: 'file deleted in this commit' } : await pinAt(content, `${path}@${commit.slice(0, 12)}`);
    const rollbackFrom = trailer.trim().split(' ')[0];
    revisions.push({ commit, date, author, subject, path, ...pin, ...(rollbackFrom ? { rollbackFrom } : {}) });
  }
  if (revisions.length === 0) {
    throw new ModelpinError('MODELPIN_E_GIT', `${file} has no committed history`, { hint: 'commit the spec first; history lists committed pins', location: { file } });
  }
  return { file, rel, top, text, revisions };
}

/** metadata.name of the working spec, else the directory name. */
export async function appName(text: string, file: string): Promise<string> {
  const { parseSpec } = await import('../../spec/parse.js');
  try {
    return parseSpec(text, { file, allowUnpinned: true }).spec.metadata.name;
  } catch {
    return basename(dirname(resolve(file)));
  }
}

export async function specHistory(pathOrDir: string, opts: { app?: string; limit?: number } = {}): Promise<HistoryResult> {
  const r = await readRevisions(pathOrDir, opts.limit ? { limit: opts.limit } : {});
  const app = opts.app ?? (await appName(r.text, r.file));
  return { file: r.rel, app, changes: pinChanges(r.revisions) };
}

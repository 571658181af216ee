// `modelpin history`: read the spec's git history (git log --follow) and list the pin changes.
import { execFile } from 'node:child_process';
import { basename, dirname, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ModelpinError } from '../../errors.js';
import { pinChanges, type PinChange, type Revision } from '../../pin/history.js';

function git(args: string[], cwd: string): Promise<string> {
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

/** Permissive: the current parser first (allowUnpinned), plain YAML when an old revision no longer validates. */
async function pinAt(text: string, file: string): Promise<Pick<Revision, 'pin' | 'error'>> {
  const { parseSpec } = await import('../../spec/parse.js');
  try {
    const { spec } = parseSpec(text, { file, allowUnpinned: true });
    const m = spec.spec.model;
    return { pin: { uri: m.uri, ...(m.digest ? { digest: m.digest } : {}), ...(m.size !== undefined ? { size: m.size } : {}) } };
  } catch (e) {
    try {
      const doc = parseYaml(text) as { spec?: { model?: { uri?: unknown; digest?: unknown; size?: unknown } } } | null;
      const m = doc?.spec?.model;
      if (m && typeof m.uri === 'string') {
        return { pin: { uri: m.uri, ...(typeof m.digest === 'string' ? { digest: m.digest } : {}), ...(typeof m.size === 'number' ? { size: m.size } : {}) } };
      }
    } catch {
      /* fall through: report the parser's message */
    }
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export async function specHistory(pathOrDir: string, opts: { app?: string; limit?: number } = {}): Promise<HistoryResult> {
  const { readSpecFile } = await import('../spec-file.js');
  const { file, text } = await readSpecFile(pathOrDir);
  const abs = resolve(file);
  const top = (await git(['rev-parse', '--show-toplevel'], dirname(abs))).trim();
  const rel = relative(top, abs).split('\\').join('/');
  const out = await git(
    ['log', '--follow', '--no-color', '--format=%x1e%H%x1f%aI%x1f%an <%ae>%x1f%s', '--name-only', ...(opts.limit ? [`-n${opts.limit}`] : []), '--', rel],
    top,
  );
  const revisions: Revision[] = [];
  for (const chunk of out.split('\x1e').filter((c) => c.trim() !== '')) {
    const [head = '', ...rest] = chunk.split('\n');
    const [commit = '', date = '', author = '', subject = ''] = head.split('\x1f');
    const path = rest.map((l) => l.trim()).find((l) => l !== '') ?? rel;
    let content: string | undefined;
    try {
      content = await git(['show', `${commit}:${path}`], top);
    } catch {
      content = undefined; // deleted in this commit
    }
    const pin = content === undefined ? { error: 'file deleted in this commit' } : await pinAt(content, `${path}@${commit.slice(0, 12)}`);
    revisions.push({ commit, date, author, subject, path, ...pin });
  }
  if (revisions.length === 0) {
    throw new ModelpinError('MODELPIN_E_GIT', `${file} has no committed history`, { hint: 'commit the spec first; history lists committed pins', location: { file } });
  }
  let app = opts.app;
  if (app === undefined) {
    const { parseSpec } = await import('../../spec/parse.js');
    try {
      app = parseSpec(text, { file, allowUnpinned: true }).spec.metadata.name;
    } catch {
      app = basename(dirname(abs));
    }
  }
  return { file: rel, app, changes: pinChanges(revisions) };
}

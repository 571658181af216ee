// `modelpin rollback`: the git side. Reads the spec's history (as `history` does), lets the pure
// core choose the target and the edits, writes the spec in place the way `lock` does (comments
// kept, atomic rename), and with `commit` commits that one file with a message naming both digests.
// Safe to run twice and from automation: a spec already at the target is left alone, and the
// spec's own uncommitted changes are never mixed into a rollback.
import { ModelpinError } from '../../errors.js';
import { pinChanges, type PinChange, type Revision } from '../../pin/history.js';
import type { FieldChange } from '../../pin/plan.js';
import { chooseByHistory, planRollback, rollbackMessage, samePin, type ModelPin, type RollbackTarget } from '../../pin/rollback.js';
import { applySpecEdits } from '../../spec/edit.js';
import { appName, git, pinAt, readRevisions } from './history.js';
import { writeAtomically } from './lock.js';

export interface RollbackOptions {
  path: string;
  target: RollbackTarget;
  /** Only roll back if the spec currently pins this digest (what the failed canary ran); else do nothing. */
  from?: string;
  reason?: string;
  commit?: boolean;
  app?: string;
}

export interface RollbackResult {
  file: string;
  /** 'rolled-back': the spec was written (and committed with `commit`); otherwise why nothing changed. */
  outcome: 'rolled-back' | 'already-at-target' | 'not-current';
  from: ModelPin;
  to?: ModelPin;
  toCommit?: string;
  changes: FieldChange[];
  message?: string;
  /** The new commit, with `commit`. */
  commit?: string;
  /** spec.model fields the rollback left as they are although they differ at the target. */
  untouched: string[];
}

export async function rollbackSpec(opts: RollbackOptions): Promise<RollbackResult> {
  const { file, rel, top, text, revisions } = await readRevisions(opts.path);
  const head = revisions[0]!;
  // The committed text is the base: the working file may only be it, or it already rolled back.
  const headText = await git(['show', `HEAD:${rel}`], top).catch(() => {
    throw new ModelpinError('MODELPIN_E_GIT', `${rel} is not in HEAD`, { hint: 'commit the spec first; rollback works on committed pins', location: { file } });
  });
  const current = (await pinAt(headText, rel)).pin;
  if (!current) throw new ModelpinError('MODELPIN_E_ROLLBACK_TARGET', `${file} at HEAD has no spec.model.uri`, { location: { file, path: 'spec.model' } });
  const base: Omit<RollbackResult, 'outcome'> = { file, from: current, changes: [], untouched: [] };

  if (opts.from !== undefined && current.digest !== opts.from) {
    return { ...base, outcome: 'not-current' };
  }

  const { target, toCommit, path } = await chooseTarget(opts.target, revisions, top);
  const plan = planRollback(current, target);
  const untouched = await differingOthers(headText, toCommit, path, top);
  const app = opts.app ?? (await appName(headText, file));
  const message = rollbackMessage({ app, from: current, to: target, toCommit, fromCommit: head.commit, ...(opts.reason ? { reason: opts.reason } : {}) });
  const result: Omit<RollbackResult, 'outcome'> = { ...base, to: target, toCommit, changes: plan.changes, untouched };
  if (samePin(current, target)) {
    if (text !== headText) throw dirty(file, rel);
    return { ...result, outcome: 'already-at-target', changes: [] };
  }

  const next = applySpecEdits(headText, plan.edits, file);
  if (text !== headText && text !== next) throw dirty(file, rel);
  const staged = (await git(['diff', '--cached', '--name-only', '--', rel], top)).trim();
  if (staged !== '' && text !== next) throw dirty(file, rel);
  if (text !== next) await writeAtomically(file, next);
  if (!opts.commit) return { ...result, outcome: 'rolled-back', message };
  // --only semantics: this one path is committed, whatever else is staged stays staged.
  await gitCommit(['commit', '--quiet', '--only', '-F', '-', '--', rel], top, message);
  const sha = (await git(['rev-parse', 'HEAD'], top)).trim();
  return { ...result, outcome: 'rolled-back', message, commit: sha };
}

function dirty(file: string, rel: string): ModelpinError {
  return new ModelpinError('MODELPIN_E_ROLLBACK_DIRTY', `${file} has uncommitted changes that are not this rollback; refusing to mix them into it`, {
    hint: `commit or discard them first (\`git diff -- ${rel}\` shows them, \`git checkout -- ${rel}\` drops them)`,
    location: { file },
  });
}

async function chooseTarget(t: RollbackTarget, revisions: Revision[], top: string): Promise<{ target: ModelPin; toCommit: string; path: string }> {
  if ('steps' in t) {
    const changes = pinChanges(revisions);
    const choice = chooseByHistory(changes, t.steps);
    if (!choice.ok) throw new ModelpinError('MODELPIN_E_ROLLBACK_TARGET', `nothing to roll back to: ${choice.why}`, { hint: choice.hint });
    const rev = revisions.find((r) => r.commit === choice.target.commit)!;
    return { target: rev.pin!, toCommit: rev.commit, path: rev.path };
  }
  const sha = (await git(['rev-parse', '--verify', '--quiet', `${t.commit}^{commit}`], top).catch(() => '')).trim();
  if (sha === '') {
    throw new ModelpinError('MODELPIN_E_ROLLBACK_TARGET', `unknown commit "${t.commit}"`, { hint: 'pick a COMMIT from `modelpin history` (a prefix of at least 7 characters works)' });
  }
  // The pin in effect at that commit: the newest revision of the file that the commit contains.
  let rev: Revision | undefined;
  for (const r of revisions) {
    if (r.commit === sha || (await isAncestor(r.commit, sha, top))) {
      rev = r;
      break;
    }
  }
  if (!rev) throw new ModelpinError('MODELPIN_E_ROLLBACK_TARGET', `commit ${sha.slice(0, 12)} has no version of the spec`, { hint: 'pick a commit from `modelpin history`' });
  if (rev.error !== undefined || rev.pin?.digest === undefined) {
    throw new ModelpinError('MODELPIN_E_ROLLBACK_TARGET', `the spec at ${sha.slice(0, 12)} has no usable pin${rev.error ? ` (${rev.error.split('\n')[0]})` : ' (no digest)'}`, {
      hint: 'pick a pinned commit from `modelpin history`',
    });
  }
  return { target: rev.pin, toCommit: rev.commit, path: rev.path };
}

async function isAncestor(a: string, b: string, top: string): Promise<boolean> {
  try {
    await git(['merge-base', '--is-ancestor', a, b], top);
    return true;
  } catch {
    return false;
  }
}

/** Other spec.model fields (credentials, signature) that differ at the target: reported, not restored. */
async function differingOthers(headText: string, toCommit: string, path: string, top: string): Promise<string[]> {
  const { parse } = await import('yaml');
  let then: unknown;
  try {
    then = parse(await git(['show', `${toCommit}:${path}`], top));
  } catch {
    return [];
  }
  const now = parse(headText) as { spec?: { model?: Record<string, unknown> } } | null;
  const was = (then as { spec?: { model?: Record<string, unknown> } } | null)?.spec?.model ?? {};
  const is = now?.spec?.model ?? {};
  return ['credentials', 'signature'].filter((k) => JSON.stringify(is[k]) !== JSON.stringify(was[k])).map((k) => `spec.model.${k}`);
}

function gitCommit(args: string[], cwd: string, stdin: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    import('node:child_process').then(({ execFile }) => {
      const child = execFile('git', args, { cwd, encoding: 'utf8' }, (err, _stdout, stderr) => {
        if (err) reject(new ModelpinError('MODELPIN_E_GIT', `git commit failed: ${stderr.trim() || err.message}`, { hint: 'check git user.name / user.email and hooks; the spec was written but not committed' }));
        else resolvePromise();
      });
      child.stdin?.end(stdin);
    }, reject);
  });
}

export type { PinChange };

// `modelpin rollback`: which earlier pin to restore, what to write, and the commit message. Pure;
// the CLI (src/cli/pin/rollback.ts) feeds it the spec's git revisions and does the I/O.
//
// A rollback commit carries two trailers, so later runs can read what happened:
//   Modelpin-Rollback-From: <digest rolled back from>
//   Modelpin-Rollback-To:   <digest restored>
// Choosing the target (`--steps N`, default 1): count back from the newest pin that was set on
// purpose (not by a rollback), skipping pins that a later rollback moved away from, and counting
// each digest once. So after A → B (bad) → rollback to A, running rollback again computes A
// again: nothing to do (idempotent); and after A → B (rolled back) → C (bad), it restores A, never B.
import type { SpecEdit } from '../spec/edit.js';
import type { PinChange, Revision } from './history.js';
import { TRACK_ANNOTATION, type FieldChange } from './plan.js';

export const ROLLBACK_FROM_TRAILER = 'Modelpin-Rollback-From';
export const ROLLBACK_TO_TRAILER = 'Modelpin-Rollback-To';

/** The fields that make up a pin: what is restored (as it was at the target commit). */
export interface ModelPin {
  readonly uri?: string;
  readonly digest?: string;
  readonly size?: number;
  readonly format?: string;
  readonly entry?: string;
  readonly provenance?: { readonly repo?: string; readonly commit?: string; readonly script?: string; readonly mlflowRunId?: string };
  readonly track?: string;
}

export type RollbackTarget = { readonly steps: number } | { readonly commit: string };

export type TargetChoice =
  | { readonly ok: true; readonly target: PinChange; readonly anchor: PinChange }
  | { readonly ok: false; readonly why: string; readonly hint: string };

/** `changes` newest first (pinChanges output). Picks the pin `steps` back; see the header. */
export function chooseByHistory(changes: readonly PinChange[], steps: number): TargetChoice {
  const usable = (c: PinChange) => c.error === undefined && c.digest !== undefined && c.uri !== undefined;
  const anchorIdx = changes.findIndex((c) => c.rollbackFrom === undefined && usable(c));
  if (anchorIdx < 0) return { ok: false, why: 'the spec has never been pinned on purpose (only unpinned or unreadable revisions)', hint: 'pin it with `modelpin lock` and commit first' };
  const anchor = changes[anchorIdx]!;
  const rolledBackFrom = (i: number, digest: string) => changes.slice(0, i).some((r) => r.rollbackFrom === digest);
  const seen = new Set<string>([anchor.digest!]);
  const candidates: PinChange[] = [];
  changes.forEach((c, i) => {
    if (i <= anchorIdx || c.rollbackFrom !== undefined || !usable(c) || seen.has(c.digest!) || rolledBackFrom(i, c.digest!)) return;
    seen.add(c.digest!);
    candidates.push(c);
  });
  const target = candidates[steps - 1];
  if (!target) {
    const n = candidates.length;
    return {
      ok: false,
      why: n === 0 ? `there is no earlier pin before ${anchor.digest} (pinned in ${anchor.commit.slice(0, 12)})` : `--steps ${steps} goes back further than the ${n} earlier pin${n === 1 ? '' : 's'} in the history`,
      hint: n === 0 ? 'a first pin cannot be rolled back; pin another model with `modelpin lock` instead' : `use --steps 1..${n}, or --to <commit> (see \`modelpin history\`)`,
    };
  }
  return { ok: true, target, anchor };
}

/** What rollback writes: every pin field that differs between the current spec and the target. */
export function planRollback(current: ModelPin, target: ModelPin): { changes: FieldChange[]; edits: SpecEdit[] } {
  const changes: FieldChange[] = [];
  const edits: SpecEdit[] = [];
  const field = (label: string, path: string[], from: string | number | undefined, to: string | number | undefined, after?: string[]) => {
    if (from === to) return;
    changes.push({ field: label, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
    edits.push({ path, value: to, ...(after ? { after } : {}) });
  };
  field('spec.model.uri', ['spec', 'model', 'uri'], current.uri, target.uri);
  field('spec.model.digest', ['spec', 'model', 'digest'], current.digest, target.digest, ['uri']);
  field('spec.model.size', ['spec', 'model', 'size'], current.size, target.size, ['digest', 'uri']);
  field('spec.model.format', ['spec', 'model', 'format'], current.format, target.format, ['size', 'digest', 'uri']);
  field('spec.model.entry', ['spec', 'model', 'entry'], current.entry, target.entry, ['format', 'size', 'digest', 'uri']);
  for (const k of ['repo', 'commit', 'script', 'mlflowRunId'] as const) {
    field(`spec.model.provenance.${k}`, ['spec', 'model', 'provenance', k], current.provenance?.[k], target.provenance?.[k]);
  }
  field(`metadata.annotations["${TRACK_ANNOTATION}"]`, ['metadata', 'annotations', TRACK_ANNOTATION], current.track, target.track);
  return { changes, edits };
}

function short(d: string | undefined): string {
  return d === undefined ? '(unpinned)' : `${d.slice(0, 'sha256:'.length + 12)}`;
}

/** The commit message: a subject naming both digests, the reason, both pins, and the trailers. */
export function rollbackMessage(o: { app: string; from: ModelPin; to: ModelPin; toCommit: string; fromCommit?: string; reason?: string }): string {
  const reason = o.reason?.trim() || 'No reason given (modelpin rollback --reason).';
  const line = (p: ModelPin, commit: string | undefined) => `${p.uri ?? '(no uri)'} ${p.digest ?? '(unpinned)'}${commit ? ` (pinned in ${commit.slice(0, 12)})` : ''}`;
  return [
    `Roll back ${o.app} model to ${short(o.to.digest)} (from ${short(o.from.digest)})`,
    '',
    reason,
    '',
    `from: ${line(o.from, o.fromCommit)}`,
    `to:   ${line(o.to, o.toCommit)}`,
    '',
    `${ROLLBACK_FROM_TRAILER}: ${o.from.digest ?? 'none'}`,
    `${ROLLBACK_TO_TRAILER}: ${o.to.digest ?? 'none'}`,
    '',
  ].join('\n');
}

/** Does the spec's current pin equal the target (nothing to write)? */
export function samePin(a: ModelPin, b: ModelPin): boolean {
  return planRollback(a, b).changes.length === 0;
}

export type { Revision };

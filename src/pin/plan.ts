// What `modelpin lock` writes, decided from the current spec and a fresh resolution. Pure.
// A mutable source (an MLflow alias, models:/name/latest, an S3 key in a versioned bucket) is
// pinned to its immutable form in spec.model.uri; the mutable source is remembered in the
// annotation below so the next `lock` follows it again, while git (and therefore Argo CD) only
// ever sees the concrete version. A moved alias changes nothing until someone locks and commits.
import type { SpecEdit } from '../spec/edit.js';

export const TRACK_ANNOTATION = 'modelpin.dev/track';

export interface CurrentPin {
  readonly uri: string;
  readonly digest?: string;
  readonly size?: number;
  /** metadata.annotations[TRACK_ANNOTATION], if any. */
  readonly track?: string;
}

export interface NewPin {
  readonly uri: string;
  readonly digest: string;
  readonly size?: number;
}

export interface FieldChange {
  readonly field: string;
  readonly from?: string | number;
  readonly to?: string | number;
}

export interface LockPlan {
  /** The URI that was resolved (track annotation, else spec.model.uri, unless overridden). */
  readonly source: string;
  readonly changes: readonly FieldChange[];
  readonly edits: readonly SpecEdit[];
}

/** The reference lock resolves: an explicit override, else the tracked source, else the uri. */
export function lockSource(current: CurrentPin, override?: string): string {
  return override ?? current.track ?? current.uri;
}

export function planLock(current: CurrentPin, source: string, pin: NewPin): LockPlan {
  // Remember the source only when it differs from what we pin (i.e. it can move).
  const track = source !== pin.uri ? source : undefined;
  const changes: FieldChange[] = [];
  const edits: SpecEdit[] = [];
  const diff = (field: string, from: string | number | undefined, to: string | number | undefined, edit: SpecEdit) => {
    if (from === to) return;
    changes.push({ field, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
    edits.push(edit);
  };
  diff('spec.model.uri', current.uri, pin.uri, { path: ['spec', 'model', 'uri'], value: pin.uri });
  diff('spec.model.digest', current.digest, pin.digest, { path: ['spec', 'model', 'digest'], value: pin.digest, after: ['uri'] });
  // An unknown size after a digest change must not keep a stale size (it would refuse the download).
  const size = pin.size ?? (current.digest === pin.digest ? current.size : undefined);
  diff('spec.model.size', current.size, size, { path: ['spec', 'model', 'size'], value: size, after: ['digest', 'uri'] });
  diff(`metadata.annotations["${TRACK_ANNOTATION}"]`, current.track, track, { path: ['metadata', 'annotations', TRACK_ANNOTATION], value: track });
  return { source, changes, edits };
}

export function formatChanges(changes: readonly FieldChange[]): string {
  return changes.map((c) => `  ${c.field}: ${c.from === undefined ? '(none)' : String(c.from)} -> ${c.to === undefined ? '(removed)' : String(c.to)}`).join('\n');
}

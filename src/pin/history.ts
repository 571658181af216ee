// The pin history of a spec: from every committed revision of the file, keep the revisions where the
// pin (model URI + digest) changed. Pure; the CLI feeds it git's revisions and formats the result.
import type { ModelPin } from './rollback.js';

export interface Revision {
  readonly commit: string;
  /** ISO 8601 author date, as git prints it. */
  readonly date: string;
  readonly author: string;
  readonly subject: string;
  /** The file's path at that commit (it may have been renamed since). */
  readonly path: string;
  readonly pin?: ModelPin;
  /** Modelpin-Rollback-From trailer: this commit is a `modelpin rollback` away from that digest. */
  readonly rollbackFrom?: string;
  /** Why the revision could not be read as a spec (kept so history never silently skips commits). */
  readonly error?: string;
}

export interface PinChange {
  readonly commit: string;
  readonly date: string;
  readonly author: string;
  readonly subject: string;
  readonly path: string;
  readonly uri?: string;
  /** models:/name/<version> → the version; s3 → the versionId. */
  readonly version?: string;
  readonly digest?: string;
  readonly size?: number;
  readonly current: boolean;
  /** Set on commits made by `modelpin rollback`: the digest it rolled back from. */
  readonly rollbackFrom?: string;
  readonly error?: string;
}

export function versionOf(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  const m = /^models:\/.+\/([1-9][0-9]*)$/.exec(uri);
  if (m) return m[1];
  const q = /[?&]versionId=([^&]+)/.exec(uri);
  return q?.[1] ? decodeURIComponent(q[1]) : undefined;
}

/** `revisions` newest first (git log order); returns the pin changes newest first. */
export function pinChanges(revisions: readonly Revision[]): PinChange[] {
  const oldestFirst = [...revisions].reverse();
  const kept: PinChange[] = [];
  let prev: string | undefined;
  for (const r of oldestFirst) {
    const key = r.error !== undefined ? `error:${r.commit}` : JSON.stringify([r.pin?.uri, r.pin?.digest]);
    if (key === prev) continue;
    prev = key;
    const version = versionOf(r.pin?.uri);
    kept.push({
      commit: r.commit,
      date: r.date,
      author: r.author,
      subject: r.subject,
      path: r.path,
      ...(r.pin?.uri !== undefined ? { uri: r.pin.uri } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(r.pin?.digest !== undefined ? { digest: r.pin.digest } : {}),
      ...(r.pin?.size !== undefined ? { size: r.pin.size } : {}),
      current: false,
      ...(r.rollbackFrom !== undefined ? { rollbackFrom: r.rollbackFrom } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
    });
  }
  const newestFirst = kept.reverse();
  return newestFirst.map((c, i) => (i === 0 ? { ...c, current: true } : c));
}

function shortDigest(d: string | undefined): string {
  return d === undefined ? '(unpinned)' : `${d.slice(0, 'sha256:'.length + 12)}…`;
}

export function formatHistoryTable(changes: readonly PinChange[]): string {
  const header = ['', 'COMMIT', 'DATE', 'AUTHOR', 'MODEL', 'DIGEST'];
  const rows = changes.map((c) => [
    c.current ? '*' : ' ',
    c.commit.slice(0, 12),
    c.date.replace(/T/, ' ').replace(/([+-]\d\d:\d\d|Z)$/, ''),
    c.author.replace(/ <.*>$/, ''),
    c.error !== undefined ? `(unreadable: ${c.error.split('\n')[0]?.slice(0, 60)})` : (c.uri ?? '-'),
    shortDigest(c.digest),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** How to go back to a listed pin, for the footer under the table. */
export function rollbackHints(changes: readonly PinChange[], file: string, app: string): string[] {
  const current = changes[0];
  const previous = changes[1];
  if (!current) return [];
  const lines = ['To roll back, pick a row and either:'];
  if (previous) {
    lines.push(`  git revert ${current.commit.slice(0, 12)}                  # undo the newest pin change (back to ${previous.commit.slice(0, 12)})`);
    lines.push(`  git checkout ${previous.commit.slice(0, 12)} -- ${file} && git commit -m "Roll back model pin"   # restore any row's pin`);
  } else {
    lines.push(`  git checkout <commit> -- ${file} && git commit   # restore a pin (only one pin so far)`);
  }
  lines.push(`  argocd app rollback ${app} <ID>   # ID from \`argocd app history ${app}\` whose REVISION is the row's commit;`);
  lines.push('                                    # temporary: auto-sync must be off, and the next sync re-applies git');
  return lines;
}

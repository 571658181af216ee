import { describe, expect, it } from 'vitest';
import { formatHistoryTable, pinChanges, rollbackHints, versionOf, type Revision } from '../../../src/pin/history.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const rev = (commit: string, uri: string, digest?: string, extra: Partial<Revision> = {}): Revision => ({
  commit: commit.repeat(40).slice(0, 40),
  date: '2026-01-01T10:00:00+00:00',
  author: 'Ada <ada@example.com>',
  subject: 's',
  path: 'modelpin.yaml',
  pin: { uri, ...(digest ? { digest } : {}) },
  ...extra,
});

describe('pinChanges', () => {
  it('keeps only revisions where uri or digest changed, newest first, marking the current one', () => {
    const revs = [rev('d', 'models:/m/1', D('1')), rev('c', 'models:/m/3', D('3')), rev('b', 'models:/m/3', D('3')), rev('a', 'models:/m@x')];
    const out = pinChanges(revs);
    expect(out.map((c) => [c.commit[0], c.version ?? null, c.digest ?? null, c.current])).toEqual([
      ['d', '1', D('1'), true],
      ['b', '3', D('3'), false], // the commit that introduced the pin, not a later one that kept it
      ['a', null, null, false],
    ]);
  });

  it('keeps unreadable revisions visible instead of skipping them', () => {
    const out = pinChanges([rev('b', 'models:/m/1', D('1')), { ...rev('a', ''), pin: undefined, error: 'bad yaml' } as Revision]);
    expect(out[1]?.error).toBe('bad yaml');
    expect(formatHistoryTable(out)).toContain('(unreadable: bad yaml)');
  });
});

describe('versionOf / hints', () => {
  it('extracts registry versions and S3 versionIds', () => {
    expect(versionOf('models:/fraud/12')).toBe('12');
    expect(versionOf('s3://b/k?versionId=abc%2F1')).toBe('abc/1');
    expect(versionOf('https://x/y')).toBeUndefined();
  });
  it('suggests git revert of the newest change and the argocd rollback command', () => {
    const h = rollbackHints(pinChanges([rev('b', 'models:/m/2', D('2')), rev('a', 'models:/m/1', D('1'))]), 'deploy/modelpin.yaml', 'fraud');
    expect(h.join('\n')).toContain('git revert bbbbbbbbbbbb');
    expect(h.join('\n')).toContain('git checkout aaaaaaaaaaaa -- deploy/modelpin.yaml');
    expect(h.join('\n')).toContain('argocd app rollback fraud <ID>');
  });
});

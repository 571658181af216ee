// modelpin history on a real temporary git repository: several pins, an unrelated edit that must
// not appear, a rename followed with --follow, table and JSON output, and a non-repo error.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/pin-cli.js';

let repo: string;
const commits: Record<string, string> = {};
const D = (c: string) => `sha256:${c.repeat(64)}`;

function spec(version: number, digest: string, replicas = 1): string {
  return `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector
spec:
  model:
    uri: models:/fraud/${version}
    digest: ${digest}
  serving:
    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0
    env:
      - {name: MLFLOW_TRACKING_URI, value: "http://mlflow.example:5000"}
  replicas: ${replicas}
`;
}

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com' },
  });
}

async function commit(name: string, path: string, text: string, date: string): Promise<void> {
  await writeFile(join(repo, path), text);
  git('add', path);
  execFileSync('git', ['commit', '-q', '-m', name], {
    cwd: repo,
    env: { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  });
  commits[name] = git('rev-parse', 'HEAD').trim();
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'modelpin-history-'));
  git('init', '-q', '-b', 'main');
  await mkdir(join(repo, 'deploy'));
  await commit('pin v1', 'deploy/old.yaml', spec(1, D('1')), '2026-01-01T10:00:00Z');
  await commit('pin v2', 'deploy/old.yaml', spec(2, D('2')), '2026-01-02T10:00:00Z');
  git('mv', 'deploy/old.yaml', 'deploy/modelpin.yaml');
  execFileSync('git', ['commit', '-q', '-m', 'rename'], {
    cwd: repo,
    env: { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'a@e', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'a@e', GIT_AUTHOR_DATE: '2026-01-03T10:00:00Z', GIT_COMMITTER_DATE: '2026-01-03T10:00:00Z' },
  });
  await commit('scale to 3', 'deploy/modelpin.yaml', spec(2, D('2'), 3), '2026-01-04T10:00:00Z');
  await commit('pin v3', 'deploy/modelpin.yaml', spec(3, D('3'), 3), '2026-01-05T10:00:00Z');
  await commit('roll back to v1', 'deploy/modelpin.yaml', spec(1, D('1'), 3), '2026-01-06T10:00:00Z');
});

afterAll(async () => {
  if (repo) await rm(repo, { recursive: true, force: true });
});

describe('modelpin history', () => {
  it('lists each pin change newest first, across a rename, skipping edits that kept the pin', async () => {
    const r = await runCli(['history', join(repo, 'deploy'), '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const h = JSON.parse(r.stdout) as { file: string; app: string; changes: { commit: string; uri: string; version: string; digest: string; current: boolean; author: string; path: string }[] };
    expect(h.file).toBe('deploy/modelpin.yaml');
    expect(h.app).toBe('fraud-detector');
    expect(h.changes.map((c) => [c.commit, c.version, c.digest])).toEqual([
      [commits['roll back to v1'], '1', D('1')],
      [commits['pin v3'], '3', D('3')],
      [commits['pin v2'], '2', D('2')],
      [commits['pin v1'], '1', D('1')],
    ]);
    expect(h.changes[0]?.current).toBe(true);
    expect(h.changes.slice(1).every((c) => !c.current)).toBe(true);
    expect(h.changes[3]?.path).toBe('deploy/old.yaml');
    expect(h.changes[0]?.author).toBe('Ada <ada@example.com>');
  });

  it('prints a table with rollback hints', async () => {
    const r = await runCli(['history', join(repo, 'deploy', 'modelpin.yaml'), '--app', 'fraud-prod']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^\s+COMMIT\s+DATE\s+AUTHOR\s+MODEL\s+DIGEST$/);
    expect(lines[1]).toMatch(new RegExp(`^\\*  ${commits['roll back to v1']?.slice(0, 12)}  2026-01-06 10:00:00  Ada\\s+models:/fraud/1\\s+sha256:111111111111…$`));
    expect(lines[2]).toContain('models:/fraud/3');
    expect(r.stdout).toContain(`git revert ${commits['roll back to v1']?.slice(0, 12)}`);
    expect(r.stdout).toContain('argocd app rollback fraud-prod <ID>');
  });

  it('fails with MODELPIN_E_GIT outside a repository', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelpin-nogit-'));
    try {
      await writeFile(join(dir, 'modelpin.yaml'), spec(1, D('1')));
      const r = await runCli(['history', dir], { env: { ...process.env, GIT_CEILING_DIRECTORIES: tmpdir() } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/MODELPIN_E_GIT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

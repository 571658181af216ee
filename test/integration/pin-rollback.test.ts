// modelpin rollback on a real temporary git repository with several pins: the right pin restored
// with comments and layout kept, the commit message and its trailers, idempotence (a second run
// and a repeated automation event change nothing), a later bad pin skipping the one already rolled
// back from, --to and --steps, and the errors: no earlier pin, a dirty spec, an unknown commit.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './support/pin-cli.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const M = (c: string) => `sha256:${c.repeat(64)}`;
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com', GIT_CONFIG_GLOBAL: '/dev/null' };
let repo: string;
const commits: Record<string, string> = {};

/** A spec with comments, a flow map and an oci:// pin, as a person would write it. */
function spec(layer: string, manifest: string, size: number, replicas = 2): string {
  return `# Fraud detector: the model is pinned by digest (modelpin lock).
apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector
  annotations:
    modelpin.dev/track: oci://registry.example:5000/models/fraud:prod   # lock follows this tag
spec:
  model:
    # the layer of the ORAS artifact
    uri: oci://registry.example:5000/models/fraud@${M(manifest)}
    digest: ${D(layer)}   # verified in every pod
    size: ${size}
  serving:
    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0   # sidecar
    resources: {requests: {cpu: 500m}}
  replicas: ${replicas}
`;
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: ENV });
}

async function commit(name: string, text: string): Promise<void> {
  await writeFile(join(repo, 'deploy', 'modelpin.yaml'), text);
  git('add', 'deploy/modelpin.yaml');
  git('commit', '-q', '-m', name);
  commits[name] = git('rev-parse', 'HEAD').trim();
}

const cli = (...args: string[]) => runCli(args, { env: ENV, cwd: repo });
const specText = () => readFile(join(repo, 'deploy', 'modelpin.yaml'), 'utf8');

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'modelpin-rollback-'));
  git('init', '-q', '-b', 'main');
  execFileSync('mkdir', ['-p', join(repo, 'deploy')]);
  await commit('pin a', spec('a', '1', 100));
  await commit('pin b', spec('b', '2', 200));
  await commit('scale', spec('b', '2', 200, 4)); // not a pin change
  await commit('pin c', spec('c', '3', 300, 4));
});

afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe('modelpin rollback', () => {
  it('restores the previous pin in place, keeping comments and layout, and prints the message', async () => {
    const r = await cli('rollback', 'deploy', '--reason', 'canary analysis failed: error-rate');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Byte for byte what the previous pin's text would be, with everything else of HEAD kept (replicas 4).
    expect(await specText()).toBe(spec('b', '2', 200, 4));
    expect(r.stdout).toContain(`spec.model.digest: ${D('c')} -> ${D('b')}`);
    expect(r.stdout).toContain(`Roll back fraud-detector model to sha256:bbbbbbbbbbbb (from sha256:cccccccccccc)`);
    expect(r.stdout).toContain('canary analysis failed: error-rate');
    expect(r.stdout).toContain(`Modelpin-Rollback-From: ${D('c')}`);
    expect(git('status', '--porcelain')).toBe(' M deploy/modelpin.yaml\n'); // written, not committed
    // Running it again before committing: the working file already is the rollback.
    const again = await cli('rollback', 'deploy');
    expect(again.code).toBe(0);
    expect(await specText()).toBe(spec('b', '2', 200, 4));
  });

  it('--commit commits only the spec with trailers; a second run and a repeated event change nothing', async () => {
    await writeFile(join(repo, 'other.txt'), 'staged elsewhere\n');
    git('add', 'other.txt');
    const r = await cli('rollback', 'deploy/modelpin.yaml', '--commit', '--from', D('c'), '--reason', 'AnalysisRun fraud-detector-7 failed', '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { outcome: string; commit: string; toCommit: string; from: { digest: string }; to: { digest: string } };
    expect(out.outcome).toBe('rolled-back');
    expect(out.toCommit).toBe(commits['pin b']);
    expect(git('rev-parse', 'HEAD').trim()).toBe(out.commit);
    expect(git('show', '--name-only', '--format=', 'HEAD').trim()).toBe('deploy/modelpin.yaml');
    expect(git('diff', '--cached', '--name-only').trim()).toBe('other.txt'); // still staged, not committed
    const msg = git('log', '-1', '--format=%B');
    expect(msg).toContain('AnalysisRun fraud-detector-7 failed');
    expect(git('log', '-1', '--format=%(trailers:key=Modelpin-Rollback-From,valueonly)').trim()).toBe(D('c'));
    expect(git('log', '-1', '--format=%(trailers:key=Modelpin-Rollback-To,valueonly)').trim()).toBe(D('b'));
    expect(await specText()).toBe(spec('b', '2', 200, 4));

    const head = git('rev-parse', 'HEAD').trim();
    for (const args of [['rollback', 'deploy', '--commit'], ['rollback', 'deploy', '--commit', '--from', D('c')]]) {
      const again = await cli(...args);
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/nothing to (do|roll back)/);
    }
    expect(git('rev-parse', 'HEAD').trim()).toBe(head);
    expect(await specText()).toBe(spec('b', '2', 200, 4));

    // history shows the rollback as the current pin change.
    const h = JSON.parse((await cli('history', 'deploy', '-o', 'json')).stdout) as { changes: { commit: string; digest: string; rollbackFrom?: string }[] };
    expect(h.changes[0]).toMatchObject({ commit: head, digest: D('b'), rollbackFrom: D('c') });
  });

  it('a later bad pin rolls back past the pin already rolled back from', async () => {
    expect((await cli('rollback', 'deploy', '--commit')).code).toBe(0); // c → b
    await commit('pin d', spec('d', '4', 400, 4));
    expect((await cli('rollback', 'deploy', '--commit', '--reason', 'd failed too')).code).toBe(0);
    expect(await specText()).toBe(spec('b', '2', 200, 4)); // d → b (c was rolled back from)
    await commit('pin e', spec('e', '5', 500, 4));
    // Roll back e to b, then b was itself the target of... b is still good: --steps 2 reaches a.
    const r = await cli('rollback', 'deploy', '--steps', '2', '--commit');
    expect(r.code).toBe(0);
    expect(await specText()).toBe(spec('a', '1', 100, 4));
  });

  it('--to restores the pin in effect at any commit, including one that did not change it', async () => {
    const r = await cli('rollback', 'deploy', '--to', commits['scale']!.slice(0, 9));
    expect(r.code).toBe(0);
    expect(await specText()).toBe(spec('b', '2', 200, 4));
    git('checkout', '-q', '--', 'deploy/modelpin.yaml');
    const a = await cli('rollback', 'deploy', '--to', commits['pin a']!, '--commit');
    expect(a.code).toBe(0);
    expect(await specText()).toBe(spec('a', '1', 100, 4));
    // idempotent with --to as well
    const again = await cli('rollback', 'deploy', '--to', commits['pin a']!, '--commit');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do');
  });

  it('refuses with clear codes: dirty spec, unknown commit, no earlier pin, --steps too far', async () => {
    await writeFile(join(repo, 'deploy', 'modelpin.yaml'), spec('c', '3', 300, 9));
    const d = await cli('rollback', 'deploy');
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/MODELPIN_E_ROLLBACK_DIRTY: .*uncommitted changes/);
    expect(await specText()).toBe(spec('c', '3', 300, 9)); // untouched
    git('checkout', '-q', '--', 'deploy/modelpin.yaml');

    const u = await cli('rollback', 'deploy', '--to', 'deadbeef00');
    expect(u.code).toBe(1);
    expect(u.stderr).toMatch(/MODELPIN_E_ROLLBACK_TARGET: .*unknown commit "deadbeef00"/);

    const far = await cli('rollback', 'deploy', '--steps', '5');
    expect(far.code).toBe(1);
    expect(far.stderr).toMatch(/MODELPIN_E_ROLLBACK_TARGET: .*--steps 5 goes back further than the 2 earlier pins/);

    const single = await mkdtemp(join(tmpdir(), 'modelpin-rollback-one-'));
    try {
      execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: single, env: ENV });
      await writeFile(join(single, 'modelpin.yaml'), spec('a', '1', 100));
      execFileSync('git', ['add', '.'], { cwd: single, env: ENV });
      execFileSync('git', ['commit', '-q', '-m', 'first'], { cwd: single, env: ENV });
      const none = await runCli(['rollback', single], { env: ENV });
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/MODELPIN_E_ROLLBACK_TARGET: nothing to roll back to: there is no earlier pin/);
    } finally {
      await rm(single, { recursive: true, force: true });
    }
  });
});

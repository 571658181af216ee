// The plugin contract, end to end: run the BUILT CLI exactly as argocd-cmp-server does — the
// repo extracted to a temp dir (files 0644, dirs 0755), cwd = the app path, the command from
// plugin.yaml with no arguments, and the environment the repo-server passes — then read stdout
// as Argo CD does (a YAML stream). Needs `npm run build` first (`npm test` does it).
// This emulates argocd-cmp-server in a unit test; test/integration/argocd.test.ts runs the real
// one, with the real repo-server around it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(root, 'dist/modelpin.js');
const plugin = parse(readFileSync(join(root, 'plugin/plugin.yaml'), 'utf8')) as { spec: { generate: { command: string[]; args?: string[] } } };

let work: string;
let repo: string;
/** The directory put first on PATH: its `modelpin` is the launcher under test. */
let bin: string;
const launchers: Record<string, string> = {};

/** Argo CD extracts without preserveFileMode: 0644 files, 0755 directories. */
function argoModes(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      chmodSync(p, 0o755);
      argoModes(p);
    } else chmodSync(p, 0o644);
  }
}

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm test does)`);
  work = mkdtempSync(join(tmpdir(), 'modelpin-cmp-'));
  // The plugin image's `modelpin` is dist/modelpin-plugin.cjs, which runs render from a
  // render-only bundle with a V8 code cache written by the same node (as the Dockerfile does);
  // npm installs put the full bundle on PATH. The contract must hold for both.
  const cache = spawnSync(process.execPath, [join(root, 'dist/modelpin-plugin.cjs'), '--write-render-cache'], { cwd: work, encoding: 'utf8' });
  if (cache.status !== 0) throw new Error(`writing the render cache failed: ${cache.stderr}`);
  for (const [name, target] of [['bundle', cli], ['plugin image', join(root, 'dist/modelpin-plugin.cjs')]] as const) {
    launchers[name] = join(work, `bin-${name.replace(' ', '-')}`);
    mkdirSync(launchers[name]!);
    symlinkSync(target, join(launchers[name]!, 'modelpin'));
  }
  repo = join(work, '_cmp_server', '5e1f3c2a-8b7d-4e61-9a0f-2c3d4e5f6a7b');
  cpSync(join(root, 'plugin/examples/fraud-detector'), join(repo, 'apps/fraud-detector'), { recursive: true });
  cpSync(join(root, 'test/golden/app-kube-1.28/modelpin.yaml'), join(repo, 'apps/scorer/modelpin.yaml'));
  mkdirSync(join(repo, 'apps/broken'), { recursive: true });
  writeFileSync(join(repo, 'apps/broken/modelpin.yaml'), 'apiVersion: modelpin.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: broken\nspec:\n  model:\n    uri: s3://models/x.onnx\n    digest: sha256:nothex\n  serving:\n    image: ghcr.io/x/y:1\n  replicaz: 2\n');
  // An unpinned spec for render-time resolution: the model is a local file outside the repo.
  mkdirSync(join(work, 'models'));
  cpSync(join(root, 'plugin/examples/fraud-detector/model.onnx'), join(work, 'models/model.onnx'));
  mkdirSync(join(repo, 'apps/unpinned'), { recursive: true });
  writeFileSync(
    join(repo, 'apps/unpinned/modelpin.yaml'),
    `apiVersion: modelpin.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: unpinned\nspec:\n  model:\n    uri: file://${join(work, 'models/model.onnx')}\n  serving:\n    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0@sha256:${'1'.repeat(64)}\n`,
  );
  // Full YAML (an anchor, an alias, a block scalar): outside the block-YAML fast path, which the
  // plugin image's render bundle hands to the full CLI.
  mkdirSync(join(repo, 'apps/full-yaml'), { recursive: true });
  writeFileSync(
    join(repo, 'apps/full-yaml/modelpin.yaml'),
    readFileSync(join(root, 'test/golden/app-kube-1.28/modelpin.yaml'), 'utf8')
      .replace('  name: scorer\n', '  name: &name scorer\n  annotations:\n    note: >-\n      folded\n      text\n')
      .replace('value: info', 'value: *name'),
  );
  mkdirSync(join(repo, 'apps/bad-yaml'), { recursive: true });
  writeFileSync(join(repo, 'apps/bad-yaml/modelpin.yaml'), 'apiVersion: modelpin.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: [unclosed\n');
  mkdirSync(join(repo, 'apps/empty'), { recursive: true });
  writeFileSync(join(repo, 'apps/empty/README.md'), 'no spec here\n');
  argoModes(repo);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The repo-server's environment for an app; `extra` adds or (with undefined) removes variables. */
function generate(app: string, extra: Record<string, string | undefined> = {}): Run {
  const env: Record<string, string> = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: '/home/argocd',
    ARGOCD_APP_NAME: 'apps_fraud-detector-prod-eu',
    ARGOCD_APP_NAMESPACE: 'fraud',
    ARGOCD_APP_PROJECT_NAME: 'default',
    ARGOCD_APP_REVISION: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567',
    ARGOCD_APP_REVISION_SHORT: '0a1b2c3',
    ARGOCD_APP_REVISION_SHORT_8: '0a1b2c3d',
    ARGOCD_APP_SOURCE_REPO_URL: 'https://github.com/example/ml-deployments.git',
    ARGOCD_APP_SOURCE_PATH: `apps/${app}`,
    ARGOCD_APP_SOURCE_TARGET_REVISION: 'main',
    KUBE_VERSION: '1.30.11',
    KUBE_API_VERSIONS: 'v1,v1/Service,apps/v1,apps/v1/Deployment,policy/v1,policy/v1/PodDisruptionBudget,argoproj.io/v1alpha1,argoproj.io/v1alpha1/Rollout',
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const [cmd, ...args] = [...plugin.spec.generate.command, ...(plugin.spec.generate.args ?? [])];
  const r = spawnSync(cmd!, args, { cwd: join(repo, 'apps', app), env, encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Any = Record<string, any>;
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, any> };

function objects(stdout: string): Obj[] {
  const docs = parseAllDocuments(stdout);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

/** Real ARGOCD_APP_PARAMETERS: compact JSON, keys alphabetical per element, <>& as \u003c etc. */
function appParameters(params: Array<Record<string, unknown>>): string {
  const sorted = params.map((p) => Object.fromEntries(Object.entries(p).sort(([a], [b]) => a.localeCompare(b))));
  return JSON.stringify(sorted).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function expectUserError(r: Run, code: string): void {
  expect(r.status, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(code);
  expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace for user errors
}

describe.each(['bundle', 'plugin image'])('argocd-cmp-server contract (built CLI, %s launcher)', (launcher) => {
  beforeAll(() => {
    bin = launchers[launcher]!;
  });

  it('plugin.yaml runs `modelpin render` with no arguments (the environment carries everything)', () => {
    expect(plugin.spec.generate.command).toEqual(['modelpin', 'render']);
    expect(plugin.spec.generate.args ?? []).toEqual([]);
  });

  it('renders the parameter-selected overlay into a YAML stream on stdout', () => {
    const r = generate('fraud-detector', {
      ARGOCD_APP_PARAMETERS: appParameters([{ name: 'cluster', string: 'prod-eu' }]),
      PARAM_CLUSTER: 'prod-eu',
    });
    expect(r.status, r.stderr).toBe(0);
    const objs = objects(r.stdout);
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'AnalysisTemplate', 'Rollout']);
    const rollout = objs.find((o) => o.kind === 'Rollout')!;
    expect(rollout.spec!.replicas).toBe(6);
    for (const o of objs) {
      expect(o.metadata.namespace).toBe('fraud'); // ARGOCD_APP_NAMESPACE
      expect(o.metadata.labels!['app.kubernetes.io/part-of']).toBe('fraud-detector-prod-eu'); // "apps_" prefix dropped
    }
    // The example's sidecar image is a tag: a warning on stderr, which Argo CD shows only for a
    // failed command, so it also rides on the Rollout (not its pod template), where the UI shows it.
    expect(r.stderr).toContain('MODELPIN_E_IMAGE_UNPINNED');
    expect((rollout.metadata as Any).annotations['modelpin.dev/warnings']).toMatch(/^MODELPIN_E_IMAGE_UNPINNED at spec\.serving\.image: /);
    expect(JSON.stringify(rollout.spec!.template)).not.toContain('modelpin.dev/warnings');
    expect(r.stdout).not.toContain('warning:');
    // The git revision enters nothing.
    expect(r.stdout).not.toMatch(/0a1b2c3/);
  });

  it('takes the overlay from ARGOCD_ENV_<Name> when no parameter names it', () => {
    const r = generate('fraud-detector', { ARGOCD_ENV_CLUSTER: 'local' });
    expect(r.status, r.stderr).toBe(0);
    const objs = objects(r.stdout);
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'Deployment']);
    expect(objs[2]!.spec!.replicas).toBe(1);
    expect(r.stdout).toContain('file:///');
  });

  it('ARGOCD_APP_PARAMETERS takes precedence over ARGOCD_ENV_*', () => {
    const r = generate('fraud-detector', { ARGOCD_ENV_cluster: 'local', ARGOCD_APP_PARAMETERS: appParameters([{ name: 'cluster', string: 'prod-eu' }]) });
    expect(r.status, r.stderr).toBe(0);
    expect(objects(r.stdout).some((o) => o.kind === 'Rollout')).toBe(true);
  });

  it('KUBE_VERSION decides native sidecars', () => {
    const podSpec = (r: Run) => objects(r.stdout).find((o) => o.kind === 'Deployment')!.spec!.template.spec;
    const new_ = generate('scorer', { KUBE_VERSION: '1.30.11' });
    const old = generate('scorer', { KUBE_VERSION: '1.28.15' });
    expect(new_.status, new_.stderr).toBe(0);
    expect(old.status, old.stderr).toBe(0);
    expect(podSpec(new_).initContainers.map((c: { name: string; restartPolicy: string }) => [c.name, c.restartPolicy])).toEqual([['modelpin', 'Always']]);
    expect(podSpec(old).initContainers).toBeUndefined();
    expect(podSpec(old).containers.map((c: { name: string }) => c.name)).toEqual(['modelpin', 'app']);
  });

  it('KUBE_API_VERSIONS decides the PodMonitor of a canary with analysis', () => {
    const kinds = (r: Run) => objects(r.stdout).map((o) => o.kind);
    const operator = generate('fraud-detector', {
      ARGOCD_ENV_cluster: 'prod-eu',
      KUBE_API_VERSIONS: 'v1,apps/v1,argoproj.io/v1alpha1,argoproj.io/v1alpha1/Rollout,monitoring.coreos.com/v1,monitoring.coreos.com/v1/PodMonitor',
    });
    const plain = generate('fraud-detector', { ARGOCD_ENV_cluster: 'prod-eu' });
    expect(operator.status, operator.stderr).toBe(0);
    expect(plain.status, plain.stderr).toBe(0);
    expect(kinds(operator)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'PodMonitor', 'AnalysisTemplate', 'Rollout']);
    expect(kinds(plain)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'AnalysisTemplate', 'Rollout']);
  });

  it('is byte-identical across commits that do not touch the spec', () => {
    const a = generate('fraud-detector', { ARGOCD_ENV_cluster: 'prod-eu' });
    const b = generate('fraud-detector', {
      ARGOCD_ENV_cluster: 'prod-eu',
      ARGOCD_APP_REVISION: 'ffffffffffffffffffffffffffffffffffffffff',
      ARGOCD_APP_REVISION_SHORT: 'fffffff',
      ARGOCD_APP_REVISION_SHORT_8: 'ffffffff',
    });
    expect(a.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  it('fails on an invalid spec, reporting every problem with its position', () => {
    const r = generate('broken');
    expectUserError(r, 'MODELPIN_E_SPEC');
    expect(r.stderr).toContain('modelpin.yaml:');
    expect(r.stderr).toMatch(/digest/);
    expect(r.stderr).toMatch(/replicaz/);
  });

  it('renders YAML beyond the block subset (anchors, aliases, block scalars) like any other spec', () => {
    const r = generate('full-yaml');
    expect(r.status, r.stderr).toBe(0);
    const deploy = objects(r.stdout).find((o) => o.kind === 'Deployment')!;
    expect(deploy.metadata.name).toBe('scorer');
    expect(deploy.metadata).toMatchObject({ annotations: { note: 'folded text' } });
    const app = (deploy.spec as Any).template.spec.containers.find((c: Any) => c.name !== 'modelpin');
    expect(app.env).toContainEqual({ name: 'LOG_LEVEL', value: 'scorer' });
  });

  it('fails on a YAML syntax error with its position', () => {
    const r = generate('bad-yaml');
    expectUserError(r, 'MODELPIN_E_SPEC_YAML');
    expect(r.stderr).toContain('modelpin.yaml:5:1'); // where the yaml library notices the missing "]"
  });

  it('fails when the app path has no modelpin.yaml, naming that path in the repository (what the UI shows)', () => {
    const r = generate('empty');
    expectUserError(r, 'MODELPIN_E_SPEC_NOT_FOUND');
    expect(r.stderr).toContain('modelpin: apps/empty: MODELPIN_E_SPEC_NOT_FOUND: the Application\'s source path "apps/empty" has no modelpin.yaml');
    expect(r.stderr).not.toContain('directory .');
  });

  it('fails on an unknown cluster', () => {
    const r = generate('fraud-detector', { ARGOCD_APP_PARAMETERS: appParameters([{ name: 'cluster', string: 'mars-1' }]) });
    expectUserError(r, 'MODELPIN_E_SPEC_CLUSTER');
    expect(r.stderr).toContain('mars-1');
  });

  it('decodes \\u003c escapes before judging a parameter', () => {
    const json = appParameters([{ name: 'cluster', string: 'a<b' }]);
    expect(json).toContain('\\u003c');
    const r = generate('fraud-detector', { ARGOCD_APP_PARAMETERS: json });
    expectUserError(r, 'MODELPIN_E_SPEC_CLUSTER');
    expect(r.stderr).toContain('a<b');
  });

  it('strict turns the unpinned image warning into an error', () => {
    const r = generate('fraud-detector', { ARGOCD_APP_PARAMETERS: appParameters([{ name: 'cluster', string: 'local' }, { name: 'strict', string: 'true' }]) });
    expectUserError(r, 'MODELPIN_E_IMAGE_UNPINNED');
  });

  it.each([
    ['not JSON', '[{"name":"cluster",'],
    ['not an array', '{"name":"cluster","string":"local"}'],
    ['unknown parameter', '[{"name":"clustr","string":"local"}]'],
    ['array form', '[{"array":["local"],"name":"cluster"}]'],
    ['map form', '[{"map":{"a":"b"},"name":"cluster"}]'],
    ['non-boolean strict', '[{"name":"strict","string":"maybe"}]'],
  ])('rejects ARGOCD_APP_PARAMETERS that is %s', (_why, json) => {
    expectUserError(generate('fraud-detector', { ARGOCD_APP_PARAMETERS: json }), 'MODELPIN_E_PARAM');
  });

  it.each(['banana', '2', 'v1.x', '2.0.0'])('rejects KUBE_VERSION=%s', (v) => {
    expectUserError(generate('fraud-detector', { KUBE_VERSION: v }), 'MODELPIN_E_KUBE_VERSION');
  });

  it('accepts distribution-suffixed versions', () => {
    expect(generate('fraud-detector', { KUBE_VERSION: '1.30.5-gke.1014001' }).status).toBe(0);
    expect(generate('fraud-detector', { KUBE_VERSION: '1.29+' }).status).toBe(0);
  });

  it('-o json prints a v1 List of the same objects; usage errors exit 2', () => {
    const y = generate('fraud-detector', { ARGOCD_ENV_cluster: 'local' });
    const cwd = join(repo, 'apps/fraud-detector');
    const j = spawnSync(process.execPath, [cli, 'render', '-o', 'json'], { cwd, env: { ...process.env, ARGOCD_ENV_cluster: 'local', KUBE_VERSION: '1.30.11', ARGOCD_APP_NAMESPACE: 'fraud', ARGOCD_APP_NAME: 'apps_fraud-detector-prod-eu' }, encoding: 'utf8' });
    expect(j.status, j.stderr).toBe(0);
    const list = JSON.parse(j.stdout) as { apiVersion: string; kind: string; items: Obj[] };
    expect([list.apiVersion, list.kind]).toEqual(['v1', 'List']);
    expect(list.items).toEqual(objects(y.stdout));
    const bad = spawnSync(process.execPath, [cli, 'render', '-o', 'xml'], { cwd, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
  });

  it('resolve=true pins an unpinned spec at render time and marks the workload', () => {
    const digest = 'sha256:' + createHash('sha256').update(readFileSync(join(work, 'models/model.onnx'))).digest('hex');
    const env = { MODELPIN_CACHE_DIR: join(work, 'cache'), ARGOCD_APP_PARAMETERS: appParameters([{ name: 'resolve', string: 'true' }]) };
    const r = generate('unpinned', env);
    expect(r.status, r.stderr).toBe(0);
    const dep = objects(r.stdout).find((o) => o.kind === 'Deployment')!;
    expect((dep.metadata as Any).annotations['modelpin.dev/resolved-at-render']).toBe('true');
    expect(dep.spec!.template.metadata.annotations['modelpin.dev/model-digest']).toBe(digest);
    // A second render gives the same bytes (Argo CD's manifest cache aside, resolution is stable).
    expect(generate('unpinned', env).stdout).toBe(r.stdout);
  });

  it('without resolve, an unpinned spec fails; with a too small download budget, resolution refuses', () => {
    expectUserError(generate('unpinned'), 'MODELPIN_E_SPEC_UNPINNED');
    const r = generate('unpinned', {
      MODELPIN_CACHE_DIR: join(work, 'cache-empty'),
      MODELPIN_RESOLVE_MAX_BYTES: '1000',
      ARGOCD_APP_PARAMETERS: appParameters([{ name: 'resolve', string: 'true' }]),
    });
    expectUserError(r, 'MODELPIN_E_RESOLVE_TOO_LARGE');
  });

  it('leaves the extracted repo untouched (no files written next to the spec)', () => {
    const before = readdirSync(join(repo, 'apps/fraud-detector')).sort();
    generate('fraud-detector', { ARGOCD_ENV_cluster: 'local' });
    expect(readdirSync(join(repo, 'apps/fraud-detector')).sort()).toEqual(before);
    expect(statSync(join(repo, 'apps/fraud-detector/modelpin.yaml')).mode & 0o777).toBe(0o644);
  });
});

describe('plugin image render cache', () => {
  it('is accepted by the node that wrote it; without it render still works, only slower', () => {
    const launcher = join(root, 'dist/modelpin-plugin.cjs');
    const check = spawnSync(process.execPath, [launcher, '--check-render-cache'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    // A copy of dist/ without the cache.
    const bare = join(work, 'dist-without-cache');
    cpSync(join(root, 'dist'), bare, { recursive: true });
    rmSync(join(bare, 'render.cjs.cache'), { force: true });
    const missing = spawnSync(process.execPath, [join(bare, 'modelpin-plugin.cjs'), '--check-render-cache'], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('is missing; write it with --write-render-cache');
    const example = join(root, 'plugin/examples/fraud-detector');
    const viaBare = spawnSync(process.execPath, [join(bare, 'modelpin-plugin.cjs'), 'render', example], { encoding: 'utf8' });
    const viaBundle = spawnSync(process.execPath, [cli, 'render', example], { encoding: 'utf8' });
    expect(viaBare.status, viaBare.stderr).toBe(0);
    expect(viaBare.stdout).toBe(viaBundle.stdout);
    // A cache from another V8 (here: garbage) is rejected, and render still works.
    writeFileSync(join(bare, 'render.cjs.cache'), Buffer.alloc(4096, 7));
    expect(spawnSync(process.execPath, [join(bare, 'modelpin-plugin.cjs'), '--check-render-cache'], { encoding: 'utf8' }).stderr).toContain('rejected by this node');
    expect(spawnSync(process.execPath, [join(bare, 'modelpin-plugin.cjs'), 'render', example], { encoding: 'utf8' }).stdout).toBe(viaBundle.stdout);
  });
});

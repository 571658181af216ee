// modelpin through Argo CD's own code (github.com/argoproj/argo-cd/v3, see test/argocd): the real
// argocd-cmp-server runs plugin.yaml as the install mounts it, with `modelpin` laid out as in the
// plugin image; the real repo-server clones a temporary git repository, tars the app to the plugin
// and turns its output into manifests, answering the application controller's own client. Every
// case is compared with a local `modelpin render` given the environment a user sets to reproduce
// the sync (README, "Reproducing a sync locally"). Needs `npm run build` and the harness binary
// (`node test/argocd/build.mjs`; .ci/run builds it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { startArgoCD, type ArgoCD, type ArgoRequest, type ArgoResponse } from './support/argocd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(join(root, p), 'utf8');
type Any = Record<string, any>;

const goldenCases = readdirSync(join(root, 'test/golden'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'test/golden', d.name, 'modelpin.yaml')))
  .map((d) => d.name)
  .sort();

// Specs only this test needs, committed beside the real ones.
const BROKEN = [
  'apiVersion: modelpin.dev/v1alpha1',
  'kind: ModelDeployment',
  'metadata:',
  '  name: broken',
  'spec:',
  '  model:',
  '    uri: s3://models/x.onnx',
  '    digest: sha256:nothex',
  '  serving:',
  '    image: ghcr.io/x/y:1',
  '  replicaz: 2',
  '',
].join('\n');
const BAD_YAML = 'apiVersion: modelpin.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: [unclosed\n';
// Strings a YAML 1.1 reader (Argo CD's, sigs.k8s.io/yaml) would take for something else unless
// quoted: the repo-server parses the plugin's stdout with it, then sends JSON to the controller.
const TRICKY = ['on', 'Off', 'y', 'N', 'yes', '~', 'null', '0755', '0o17', '0x1F', '0b101', '1_000', '1:30', '1e3', '12.50', '+1', '.inf', '.NaN', '2024-01-01', '=', '<<', '- x', 'a: b', 'x #y', '#z', '@at', '`tick', '%p', 'trailing ', ' leading', 'tab\there', 'two\nlines\n', 'é ü ß', 'line\u2028sep', '"quoted"', "it's", '{b}', '[s]', '*star', '&amp', '!bang', '|pipe', '>gt', '?q'];
const trickySpec = () =>
  [
    'apiVersion: modelpin.dev/v1alpha1',
    'kind: ModelDeployment',
    'metadata:',
    '  name: tricky',
    '  labels: {flag: "on", mode: "0755", ok: "y"}',
    '  annotations:',
    ...TRICKY.map((v, i) => `    tricky.modelpin.dev/a${i}: ${JSON.stringify(v)}`),
    'spec:',
    '  model:',
    '    uri: s3://models/tricky/model.onnx',
    `    digest: sha256:${'ab'.repeat(32)}`,
    '  serving:',
    `    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0@sha256:${'1'.repeat(64)}`,
    '    env:',
    ...TRICKY.map((v, i) => `      - {name: V${i}, value: ${JSON.stringify(v)}}`),
    '',
  ].join('\n');

let argo: ArgoCD;
/** Outside the repository: the model an unpinned spec names, and the local render's cache. */
let outside: string;
const plugin = parse(read('plugin/plugin.yaml')) as Any;
const application = parse(read('plugin/examples/application.yaml')) as Any;
const applicationSet = parse(read('plugin/examples/applicationset.yaml')) as Any;

beforeAll(async () => {
  outside = mkdtempSync(join(tmpdir(), 'modelpin-argo-outside-'));
  cpSync(join(root, 'plugin/examples/fraud-detector/model.onnx'), join(outside, 'model.onnx'));
  const files: Record<string, string | Buffer> = {
    // Render-time resolution (parameter resolve=true) reads this file while rendering.
    'apps/unpinned/modelpin.yaml': `apiVersion: modelpin.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: unpinned\nspec:\n  model:\n    uri: file://${join(outside, 'model.onnx')}\n  serving:\n    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0@sha256:${'1'.repeat(64)}\n`,
    'plugin/examples/fraud-detector/modelpin.yaml': read('plugin/examples/fraud-detector/modelpin.yaml'),
    'plugin/examples/fraud-detector/model.onnx': readFileSync(join(root, 'plugin/examples/fraud-detector/model.onnx')),
    'apps/broken/modelpin.yaml': BROKEN,
    'apps/bad-yaml/modelpin.yaml': BAD_YAML,
    'apps/empty/README.md': 'no spec here\n',
    'apps/tricky/modelpin.yaml': trickySpec(),
    // Full YAML (anchor, alias, folded scalar): the image launcher hands it to the full CLI.
    'apps/full-yaml/modelpin.yaml': read('test/golden/app-kube-1.28/modelpin.yaml')
      .replace('  name: scorer\n', '  name: &name scorer\n  annotations:\n    note: >-\n      folded\n      text\n')
      .replace('value: info', 'value: *name'),
  };
  for (const c of goldenCases) files[`test/golden/${c}/modelpin.yaml`] = read(`test/golden/${c}/modelpin.yaml`);
  argo = await startArgoCD({ files });
});

afterAll(async () => {
  await argo?.stop();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

/** The environment a user sets to reproduce a sync locally (README), from the same request. */
function localEnv(req: ArgoRequest): Record<string, string> {
  const env: Record<string, string> = { ARGOCD_APP_NAME: req.appName, ARGOCD_APP_NAMESPACE: req.namespace ?? '', ARGOCD_APP_SOURCE_PATH: req.source.path };
  if (req.kubeVersion) env.KUBE_VERSION = req.kubeVersion.replace(/^v/, '');
  env.KUBE_API_VERSIONS = (req.apiVersions ?? []).join(','); // the repo-server always sets it, joined with ","
  if (req.source.plugin.parameters) env.ARGOCD_APP_PARAMETERS = JSON.stringify(req.source.plugin.parameters);
  // Argo CD expands $VAR and ${VAR} in plugin env values from its own variables; a user types the result.
  const base = { ...env };
  for (const e of req.source.plugin.env ?? []) env[`ARGOCD_ENV_${e.name}`] = e.value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string, b: string) => base[a ?? b] ?? '');
  return env;
}

function renderLocally(req: ArgoRequest) {
  const r = spawnSync(process.execPath, [join(root, 'dist/modelpin.js'), 'render'], {
    cwd: join(argo.repoDir, req.source.path),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MODELPIN_CACHE_DIR: join(outside, 'local-cache'), ...localEnv(req) },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TRACKING = 'argocd.argoproj.io/tracking-id';

/** Argo CD's manifests without the one thing Argo adds (the tracking annotation), checked here. */
function argoObjects(res: ArgoResponse, appName: string): Any[] {
  expect(res.error, res.error?.message).toBeUndefined();
  return res.manifests!.map((m) => {
    const o = JSON.parse(m) as Any;
    const group = (o.apiVersion as string).includes('/') ? (o.apiVersion as string).split('/')[0] : '';
    expect(o.metadata.annotations[TRACKING]).toBe(`${appName}:${group}/${o.kind}:${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    delete o.metadata.annotations[TRACKING];
    if (Object.keys(o.metadata.annotations).length === 0) delete o.metadata.annotations;
    return o;
  });
}

function yamlObjects(text: string): Any[] {
  const docs = parseAllDocuments(text);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Any).filter((o) => o !== null);
}

/** Argo CD's result is exactly the local render's objects, in the same order. */
async function expectSameAsLocal(req: ArgoRequest): Promise<Any[]> {
  const res = await argo.generate(req);
  const local = renderLocally(req);
  expect(local.status, local.stderr).toBe(0);
  const objs = argoObjects(res, req.appName);
  expect(objs).toEqual(yamlObjects(local.stdout));
  return objs;
}

/** A failed generation: Argo CD's message carries modelpin's stderr as a local render prints it. */
async function expectFailure(req: ArgoRequest, code: string): Promise<string> {
  const res = await argo.generate(req);
  expect(res.manifests).toBeUndefined();
  expect(res.error).toBeDefined();
  const msg = res.error!.message;
  expect(msg).toContain('`modelpin render` failed exit status 1: ');
  expect(msg).toContain(code);
  expect(msg).not.toMatch(/\n\s+at .*\.c?js:\d+/); // no stack trace
  const local = renderLocally(req);
  expect(local.status).toBe(1);
  expect(msg).toContain(local.stderr.trim());
  return msg;
}

// What the controller sends for a cluster with Argo Rollouts: group/version and group/version/Kind.
const API_VERSIONS = 'v1,v1/Pod,v1/Service,v1/ServiceAccount,apps/v1,apps/v1/Deployment,policy/v1,policy/v1/PodDisruptionBudget,argoproj.io/v1alpha1,argoproj.io/v1alpha1/AnalysisTemplate,argoproj.io/v1alpha1/Rollout'.split(',');

const exampleApp = (plugin: ArgoRequest['source']['plugin'], extra: Partial<ArgoRequest> = {}): ArgoRequest => ({
  source: { path: 'plugin/examples/fraud-detector', targetRevision: 'main', plugin },
  appName: 'fraud-detector',
  namespace: 'fraud',
  kubeVersion: 'v1.30.11',
  apiVersions: API_VERSIONS,
  ...extra,
});

describe('Argo CD v3 (real argocd-cmp-server and repo-server) renders modelpin', () => {
  it('announces plugin.yaml parameters to the UI (GetAppDetails)', async () => {
    const res = await argo.appDetails(exampleApp({ name: 'modelpin' }));
    expect(res.error, res.error?.message).toBeUndefined();
    expect(res.sourceType).toBe('Plugin');
    expect(res.parameters).toEqual(plugin.spec.parameters.static);
  });

  it('plugin/examples/application.yaml: the Application as written', async () => {
    const src = application.spec.source as Any;
    const req: ArgoRequest = {
      source: { path: src.path, targetRevision: src.targetRevision, plugin: src.plugin },
      appName: application.metadata.name,
      namespace: application.spec.destination.namespace,
      kubeVersion: 'v1.30.11',
      apiVersions: API_VERSIONS,
    };
    const objs = await expectSameAsLocal(req);
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'AnalysisTemplate', 'Rollout']);
    expect(objs.find((o) => o.kind === 'Rollout')!.spec.replicas).toBe(6);
  });

  it('plugin/examples/applicationset.yaml: the template for a cluster named prod-eu, app outside the argocd namespace', async () => {
    const src = JSON.parse(JSON.stringify(applicationSet.spec.template.spec.source).replaceAll('{{name}}', 'prod-eu')) as Any;
    const name = (applicationSet.spec.template.metadata.name as string).replace('{{name}}', 'prod-eu');
    const objs = await expectSameAsLocal({
      source: { path: src.path, targetRevision: src.targetRevision, plugin: src.plugin },
      appName: `apps_${name}`,
      namespace: applicationSet.spec.template.spec.destination.namespace,
      kubeVersion: 'v1.31.2',
      apiVersions: API_VERSIONS,
    });
    for (const o of objs) expect(o.metadata.labels['app.kubernetes.io/part-of']).toBe(name);
  });

  describe.each(goldenCases)('golden case %s', (name) => {
    it('gives the golden objects, and the same as a local render', async () => {
      const dir = `test/golden/${name}`;
      const params = existsSync(join(root, dir, 'params')) ? read(`${dir}/params`) : '';
      const spec = parse(read(`${dir}/modelpin.yaml`)) as Any;
      const req: ArgoRequest = { source: { path: dir, plugin: { name: 'modelpin' } }, appName: spec.metadata.name, namespace: '' };
      for (const line of params.split('\n')) {
        if (line.trim() === '' || line.startsWith('#')) continue;
        const [k, v] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
        if (k === 'ARGOCD_APP_PARAMETERS') req.source.plugin.parameters = JSON.parse(v) as Any[];
        else if (k.startsWith('ARGOCD_ENV_')) (req.source.plugin.env ??= []).push({ name: k.slice('ARGOCD_ENV_'.length), value: v });
        else if (k === 'ARGOCD_APP_NAME') req.appName = v;
        else if (k === 'ARGOCD_APP_NAMESPACE') req.namespace = v;
        else if (k === 'KUBE_VERSION') req.kubeVersion = `v${v}`;
        else if (k === 'KUBE_API_VERSIONS') req.apiVersions = v === '' ? [] : v.split(',');
        else if (k === 'ARGOCD_APP_REVISION') continue; // comes from git here
        else throw new Error(`${dir}/params: ${k} has no Argo CD request field in this test; map it here`);
      }
      const objs = await expectSameAsLocal(req);
      expect(objs).toEqual(yamlObjects(read(`${dir}/expected.yaml`)));
    });
  });

  it('plugin env (ARGOCD_ENV_cluster) selects the overlay', async () => {
    const objs = await expectSameAsLocal(exampleApp({ name: 'modelpin', env: [{ name: 'cluster', value: 'local' }] }));
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'Deployment']);
  });

  it('plugin env values may reference Argo CD variables ($ARGOCD_APP_NAMESPACE)', async () => {
    const objs = await expectSameAsLocal(exampleApp({ name: 'modelpin', env: [{ name: 'cluster', value: 'local' }, { name: 'namespace', value: '${ARGOCD_APP_NAMESPACE}-shadow' }] }));
    for (const o of objs) expect(o.metadata.namespace).toBe('fraud-shadow');
  });

  it('parameters win over plugin env', async () => {
    const objs = await expectSameAsLocal(
      exampleApp({ name: 'modelpin', env: [{ name: 'cluster', value: 'local' }], parameters: [{ name: 'cluster', string: 'prod-eu' }, { name: 'namespace', string: 'fraud-eu' }] }),
    );
    expect(objs.some((o) => o.kind === 'Rollout')).toBe(true);
    for (const o of objs) expect(o.metadata.namespace).toBe('fraud-eu');
  });

  it('KUBE_VERSION from the cluster version decides native sidecars', async () => {
    const podSpec = (objs: Any[]) => objs.find((o) => o.kind === 'Deployment')!.spec.template.spec;
    const app = (kubeVersion: string) => ({ source: { path: 'test/golden/app-kube-1.30', plugin: { name: 'modelpin' } }, appName: 'scorer', namespace: 'risk', kubeVersion });
    expect(podSpec(await expectSameAsLocal(app('v1.29.0'))).initContainers[0].restartPolicy).toBe('Always');
    expect(podSpec(await expectSameAsLocal(app('v1.28.15'))).initContainers).toBeUndefined();
  });

  it('strings a YAML 1.1 reader would retype reach Argo CD unchanged', async () => {
    const objs = await expectSameAsLocal({ source: { path: 'apps/tricky', plugin: { name: 'modelpin' } }, appName: 'tricky', namespace: 'ns', kubeVersion: 'v1.30.11' });
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    expect(dep.metadata.labels).toMatchObject({ flag: 'on', mode: '0755', ok: 'y' });
    TRICKY.forEach((v, i) => expect(dep.metadata.annotations[`tricky.modelpin.dev/a${i}`]).toBe(v));
    const sidecar = [...(dep.spec.template.spec.initContainers ?? []), ...dep.spec.template.spec.containers].find((c: Any) => c.name === 'modelpin');
    TRICKY.forEach((v, i) => expect(sidecar.env).toContainEqual({ name: `V${i}`, value: v }));
  });

  it('full YAML (anchors, aliases, folded scalars) renders like any spec', async () => {
    const objs = await expectSameAsLocal({ source: { path: 'apps/full-yaml', plugin: { name: 'modelpin' } }, appName: 'scorer', namespace: 'risk', kubeVersion: 'v1.28.15' });
    expect(objs.find((o) => o.kind === 'Deployment')!.metadata.annotations).toEqual({ note: 'folded text' });
  });

  it('a new commit that does not touch the spec changes no byte', async () => {
    const req = exampleApp({ name: 'modelpin', parameters: [{ name: 'cluster', string: 'prod-eu' }] });
    const before = await argo.generate(req);
    const sha = argo.commit({ 'plugin/examples/fraud-detector/README.md': 'unrelated change\n' });
    const after = await argo.generate({ ...req, revision: sha });
    expect(after.error, after.error?.message).toBeUndefined();
    expect(after.revision).toBe(sha);
    expect(after.revision).not.toBe(before.revision);
    expect(after.manifests).toEqual(before.manifests);
  });

  it('resolve=true pins an unpinned spec while rendering, in the plugin container', async () => {
    const req: ArgoRequest = { source: { path: 'apps/unpinned', plugin: { name: 'modelpin', parameters: [{ name: 'resolve', string: 'true' }] } }, appName: 'unpinned', namespace: 'ns', kubeVersion: 'v1.30.11' };
    const dep = (await expectSameAsLocal(req)).find((o) => o.kind === 'Deployment')!;
    expect(dep.metadata.annotations['modelpin.dev/resolved-at-render']).toBe('true');
    const digest = 'sha256:' + createHash('sha256').update(readFileSync(join(outside, 'model.onnx'))).digest('hex');
    expect(dep.spec.template.metadata.annotations['modelpin.dev/model-digest']).toBe(digest);
  });

  describe('errors reach the Application status with modelpin\'s message', () => {
    it('a spec error: code, file:line:col of every problem, and the fix', async () => {
      const msg = await expectFailure({ source: { path: 'apps/broken', plugin: { name: 'modelpin' } }, appName: 'broken', namespace: 'ns' }, 'MODELPIN_E_SPEC');
      expect(msg).toMatch(/modelpin\.yaml:8:13 \(spec\.model\.digest\)/);
      expect(msg).toMatch(/modelpin\.yaml:11:3 \(spec\.replicaz\)/);
      expect(msg).toContain('fix:');
    });

    it('a YAML syntax error, with its position', async () => {
      const msg = await expectFailure({ source: { path: 'apps/bad-yaml', plugin: { name: 'modelpin' } }, appName: 'bad', namespace: 'ns' }, 'MODELPIN_E_SPEC_YAML');
      expect(msg).toContain('modelpin.yaml:5:1');
    });

    it('an app path without modelpin.yaml', async () => {
      await expectFailure({ source: { path: 'apps/empty', plugin: { name: 'modelpin' } }, appName: 'empty', namespace: 'ns' }, 'MODELPIN_E_SPEC_NOT_FOUND');
    });

    it('an unknown cluster overlay', async () => {
      const msg = await expectFailure(exampleApp({ name: 'modelpin', parameters: [{ name: 'cluster', string: 'mars-1' }] }), 'MODELPIN_E_SPEC_CLUSTER');
      expect(msg).toMatch(/modelpin\.yaml:\d+:\d+ \(spec\.clusters\)/);
      expect(msg).toContain('mars-1');
    });

    it('strict=true turns the unpinned image warning into an error', async () => {
      const msg = await expectFailure(exampleApp({ name: 'modelpin', parameters: [{ name: 'cluster', string: 'local' }, { name: 'strict', string: 'true' }] }), 'MODELPIN_E_IMAGE_UNPINNED');
      expect(msg).toMatch(/modelpin\.yaml:\d+:\d+ \(spec\.serving\.image\)/);
    });

    it('an unpinned spec without resolve=true', async () => {
      await expectFailure({ source: { path: 'apps/unpinned', plugin: { name: 'modelpin' } }, appName: 'unpinned', namespace: 'ns' }, 'MODELPIN_E_SPEC_UNPINNED');
    });

    it('a parameter in a form modelpin does not take (array)', async () => {
      await expectFailure(exampleApp({ name: 'modelpin', parameters: [{ name: 'cluster', array: ['local'] }] }), 'MODELPIN_E_PARAM');
    });
  });
});

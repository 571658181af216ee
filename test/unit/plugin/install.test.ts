// The install manifests and examples stay consistent with plugin.yaml and with the CMP contract
// (reference/argocd-cmp.md): `kubectl kustomize` builds them for real, and `kubectl patch
// --local` merges them the way the API server does. The same checks against Argo CD's real
// install.yaml run in test/integration/argocd-install.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { PARAMETER_NAMES } from '../../../plugin/argocd-env.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const pluginText = read('plugin/plugin.yaml');
const plugin = parse(pluginText) as Any;
const IMAGE = 'ghcr.io/modelpin/modelpin-plugin';

type Any = Record<string, any>;

function kubectl(args: string[]): string {
  try {
    return execFileSync('kubectl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('kubectl is not installed; it is needed to build plugin/install (install kubectl ≥ 1.27)');
    throw new Error(`kubectl ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

function kustomize(dir: string): Any[] {
  return parseAllDocuments(kubectl(['kustomize', dir])).map((d) => d.toJS() as Any);
}

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'modelpin-install-'));
  temps.push(d);
  return d;
}

/** A checkout-shaped copy of what the install needs (plugin/install, package.json) to change freely. */
function installCopy(): string {
  const dir = temp();
  mkdirSync(join(dir, 'plugin'));
  cpSync(join(root, 'plugin/install'), join(dir, 'plugin/install'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  return dir;
}

// A repo-server Deployment shaped like Argo CD's (manifests/base/repo-server): its container, the
// var-files and plugins volumes the CMP contract shares, and no plugin yet.
const UPSTREAM_REPO_SERVER = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: {name: argocd-repo-server}',
  'spec:',
  '  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}',
  '  template:',
  '    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}',
  '    spec:',
  '      containers:',
  '        - name: argocd-repo-server',
  '          image: quay.io/argoproj/argocd:v3.6.1',
  '          args: [/usr/local/bin/argocd-repo-server]',
  '          volumeMounts: [{name: var-files, mountPath: /var/run/argocd}, {name: plugins, mountPath: /home/argocd/cmp-server/plugins}, {name: tmp, mountPath: /tmp}]',
  '      volumes: [{name: var-files, emptyDir: {}}, {name: plugins, emptyDir: {}}, {name: tmp, emptyDir: {}}]',
  '',
].join('\n');

/** A kustomization that builds Argo CD (here: the upstream-shaped repo-server) with the component. */
function componentBuild(installDir: string): Any[] {
  const dir = temp();
  cpSync(installDir, join(dir, 'install'), { recursive: true });
  writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [repo-server.yaml]\ncomponents: [install/component]\n');
  writeFileSync(join(dir, 'repo-server.yaml'), UPSTREAM_REPO_SERVER);
  return kustomize(dir);
}

/** What the CMP contract requires of the plugin container, whatever installs it. */
function expectCmpContainer(c: Any, configVolume: string, subPath: string): void {
  expect(c.command).toEqual(['/var/run/argocd/argocd-cmp-server']);
  expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999 });
  const mounts = Object.fromEntries((c.volumeMounts as Any[]).map((m) => [m.mountPath, m]));
  expect(mounts['/var/run/argocd']).toMatchObject({ name: 'var-files' });
  expect(mounts['/home/argocd/cmp-server/plugins']).toMatchObject({ name: 'plugins' });
  expect(mounts['/home/argocd/cmp-server/config/plugin.yaml']).toMatchObject({ name: configVolume, subPath });
  expect(mounts['/tmp']).toBeDefined();
  expect(['var-files', 'plugins', 'tmp']).not.toContain(mounts['/tmp'].name); // its own /tmp, not the repo-server's
}

/** The pod template: every container a volume mount names exists, names are unique, and kubectl defaults to the repo-server. */
function expectSoundRepoServerPod(template: Any): void {
  const names = (template.spec.containers as Any[]).map((c) => c.name);
  const volumes = (template.spec.volumes as Any[]).map((v) => v.name);
  expect(new Set(names).size).toBe(names.length);
  expect(new Set(volumes).size).toBe(volumes.length);
  for (const c of template.spec.containers as Any[]) for (const m of c.volumeMounts ?? []) expect(volumes).toContain(m.name);
  // The merge puts the plugin first; kubectl logs/exec/cp pick the annotated container instead.
  expect(names[0]).toBe('modelpin');
  expect(template.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('argocd-repo-server');
  expect(names).toContain('argocd-repo-server');
}

describe('plugin.yaml', () => {
  it('is a CMP named modelpin without version or discovery, announcing the parameters the adapter reads', () => {
    expect([plugin.apiVersion, plugin.kind, plugin.metadata.name]).toEqual(['argoproj.io/v1alpha1', 'ConfigManagementPlugin', 'modelpin']);
    expect(plugin.spec.version).toBeUndefined();
    expect(plugin.spec.discover).toBeUndefined();
    const names = (plugin.spec.parameters.static as Any[]).map((p) => p.name).sort();
    expect(names).toEqual([...PARAMETER_NAMES].sort());
    for (const p of plugin.spec.parameters.static as Any[]) expect(p.title && p.tooltip).toBeTruthy();
  });

  it('has byte-identical copies where kustomize needs them', () => {
    expect(read('plugin/install/plugin.yaml')).toBe(pluginText);
    expect(read('plugin/install/component/plugin.yaml')).toBe(pluginText);
    expect(read('plugin/install/component/argocd-repo-server.yaml')).toBe(read('plugin/install/argocd-repo-server.yaml'));
  });
});

describe('plugin/install (kustomize)', () => {
  it('builds: the plugin ConfigMap, named with a hash of plugin.yaml, and the repo-server sidecar container', () => {
    const objs = kustomize(join(root, 'plugin/install'));
    const cm = objs.find((o) => o.kind === 'ConfigMap')!;
    expect(cm.metadata.name).toMatch(/^modelpin-cmp-plugin-[a-z0-9]{10}$/);
    expect(cm.metadata.namespace).toBe('argocd');
    expect(cm.data['plugin.yaml']).toBe(pluginText);
    const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'argocd-repo-server')!;
    const c = (dep.spec.template.spec.containers as Any[]).find((x) => x.name === 'modelpin')!;
    expectCmpContainer(c, 'modelpin-cmp-plugin', 'plugin.yaml');
    expect(c.image).toBe(`${IMAGE}:0.1.0`);
    const vols = Object.fromEntries((dep.spec.template.spec.volumes as Any[]).map((v) => [v.name, v]));
    expect(vols['modelpin-cmp-plugin'].configMap.name).toBe(cm.metadata.name);
    const tmp = (c.volumeMounts as Any[]).find((m) => m.mountPath === '/tmp')!;
    expect(vols[tmp.name].emptyDir).toBeDefined();
    expect(dep.spec.template.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('argocd-repo-server');
  });

  it('merged by name into a live repo-server (kubectl apply --server-side), adds the plugin and leaves the repo-server container as it was', () => {
    const dir = temp();
    writeFileSync(join(dir, 'live.yaml'), UPSTREAM_REPO_SERVER);
    const partial = kustomize(join(root, 'plugin/install')).find((o) => o.kind === 'Deployment')!;
    writeFileSync(join(dir, 'partial.json'), JSON.stringify(partial));
    const merged = JSON.parse(kubectl(['patch', '--local', '-f', join(dir, 'live.yaml'), '--type', 'strategic', '--patch-file', join(dir, 'partial.json'), '-o', 'json'])) as Any;
    const live = parse(UPSTREAM_REPO_SERVER) as Any;
    const template = merged.spec.template;
    expectSoundRepoServerPod(template);
    expect((template.spec.containers as Any[]).find((c) => c.name === 'argocd-repo-server')).toEqual(live.spec.template.spec.containers[0]);
    expect(merged.spec.selector).toEqual(live.spec.selector);
    expect((template.spec.volumes as Any[]).map((v) => v.name).sort()).toEqual(['modelpin-cmp-plugin', 'modelpin-cmp-tmp', 'plugins', 'tmp', 'var-files']);
  });

  it('the component patches an upstream-shaped repo-server into one complete Deployment', () => {
    const objs = componentBuild(join(root, 'plugin/install'));
    const deps = objs.filter((o) => o.kind === 'Deployment');
    expect(deps).toHaveLength(1);
    const template = deps[0]!.spec.template;
    expectSoundRepoServerPod(template);
    expect((template.spec.containers as Any[]).map((c) => c.name)).toEqual(['modelpin', 'argocd-repo-server']);
    expect((template.spec.volumes as Any[]).map((v) => v.name).sort()).toEqual(['modelpin-cmp-plugin', 'modelpin-cmp-tmp', 'plugins', 'tmp', 'var-files']);
    expectCmpContainer(template.spec.containers[0], 'modelpin-cmp-plugin', 'plugin.yaml');
    const cm = objs.find((o) => o.kind === 'ConfigMap')!;
    expect((template.spec.volumes as Any[]).find((v) => v.name === 'modelpin-cmp-plugin')!.configMap.name).toBe(cm.metadata.name);
    expect(template.spec.containers[0].image).toBe(`${IMAGE}:0.1.0`);
  });

  // argocd-cmp-server reads plugin.yaml only at start, through a subPath mount that never sees
  // updates: a new plugin.yaml must change the pod template, or the old one keeps running.
  it.each([
    ['plugin/install', (dir: string) => kustomize(join(dir, 'plugin/install'))],
    ['plugin/install/component', (dir: string) => componentBuild(join(dir, 'plugin/install'))],
  ])('%s: a change to plugin.yaml alone changes the pod template (the repo-server rolls); no change, no roll', (_name, build) => {
    const dir = installCopy();
    const template = () => build(dir).find((o) => o.kind === 'Deployment')!.spec.template;
    const before = template();
    expect(template()).toEqual(before);
    for (const f of ['plugin/install/plugin.yaml', 'plugin/install/component/plugin.yaml']) {
      const p = join(dir, f);
      writeFileSync(p, readFileSync(p, 'utf8').replace('title: Strict', 'title: Strict mode'));
    }
    const after = template();
    expect(after).not.toEqual(before);
    const cmName = (t: Any) => (t.spec.volumes as Any[]).find((v) => v.name === 'modelpin-cmp-plugin')!.configMap.name;
    expect(cmName(after)).not.toBe(cmName(before));
    const cm = build(dir).find((o) => o.kind === 'ConfigMap')!;
    expect(cm.metadata.name).toBe(cmName(after));
    expect(cm.data['plugin.yaml']).toContain('title: Strict mode');
  });
});

describe('plugin image reference: pinned by digest in a release', () => {
  const script = join(root, 'test/tools/release-pin-image.mjs');
  const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  const ref = `${IMAGE}:0.1.0@sha256:${'3f'.repeat(32)}`;
  const installFiles = ['plugin/install/kustomization.yaml', 'plugin/install/component/kustomization.yaml', 'plugin/install/helm-values.yaml'];

  it('the tree as committed names a tag only, and the release check refuses it', () => {
    const r = run('--check');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('not a release: the plugin image is not pinned by digest');
    for (const f of installFiles) expect(r.stderr).toContain(f);
    expect(r.stderr).toContain(`fix: node test/tools/release-pin-image.mjs ${IMAGE}:0.1.0@sha256:`);
  });

  it('pinning writes one digest everywhere: kustomize (both variants) and Helm run <image>:<version>@<digest>', () => {
    const dir = installCopy();
    const r = run('--root', dir, ref);
    expect(r.status, r.stderr).toBe(0);
    expect(run('--root', dir, '--check').status).toBe(0);
    const image = (objs: Any[]) => (objs.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers as Any[]).find((c) => c.name === 'modelpin')!.image;
    expect(image(kustomize(join(dir, 'plugin/install')))).toBe(ref);
    expect(image(componentBuild(join(dir, 'plugin/install')))).toBe(ref);
    const values = parse(readFileSync(join(dir, 'plugin/install/helm-values.yaml'), 'utf8')) as Any;
    expect(values.repoServer.extraContainers.find((c: Any) => c.name === 'modelpin').image).toBe(ref);
    // Only the image changed: comments and the rest stay as written.
    for (const f of installFiles) {
      const [a, b] = [read(f).split('\n'), readFileSync(join(dir, f), 'utf8').split('\n')];
      expect(b.filter((l) => !a.includes(l)).every((l) => l.includes('sha256:3f3f'))).toBe(true);
      expect(a.filter((l) => !b.includes(l)).every((l) => l.includes(`${IMAGE}:0.1.0`))).toBe(true);
    }
  });

  it.each([
    [`${IMAGE}:0.1.0`, 'not <image>:<tag>@sha256'],
    [`${IMAGE}@sha256:${'3f'.repeat(32)}`, 'not <image>:<tag>@sha256'],
    [`${IMAGE}:0.1.0@sha256:${'3f'.repeat(31)}`, 'not <image>:<tag>@sha256'],
    [`${IMAGE}:0.1.0@sha256:${'3F'.repeat(32)}`, 'not <image>:<tag>@sha256'],
    [`${IMAGE}:0.2.0@sha256:${'3f'.repeat(32)}`, 'package.json version is 0.1.0'],
    [`ghcr.io/someone/else:0.1.0@sha256:${'3f'.repeat(32)}`, 'the install manifests run'],
  ])('refuses %s and changes nothing', (bad, why) => {
    const dir = installCopy();
    const r = run('--root', dir, bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(why);
    for (const f of installFiles) expect(readFileSync(join(dir, f), 'utf8')).toBe(read(f));
  });

  it('refuses a tree whose manifests pin different digests', () => {
    const dir = installCopy();
    expect(run('--root', dir, ref).status).toBe(0);
    const helm = join(dir, 'plugin/install/helm-values.yaml');
    writeFileSync(helm, readFileSync(helm, 'utf8').replace('3f3f3f', '4f3f3f'));
    const r = run('--root', dir, '--check');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the manifests pin different digests');
  });
});

// --- Helm ---------------------------------------------------------------------------------------
// The argo-cd chart cannot be fetched here (no Helm repository is reachable), so this models the
// two things the recipe depends on, and nothing else:
//   - Helm's merge of several -f files (helm pkg/cli/values, mergeMaps; the chart's defaults
//     coalesce the same way): a map merges key by key, recursively; any other value, a list
//     included, is replaced by the later file.
//   - what the chart makes of the values involved (templates/argocd-repo-server/deployment.yaml,
//     templates/argocd-configs/argocd-cmp-cm.yaml): the repo-server container first, then
//     repoServer.extraContainers; volumes = global.extraVolumes + repoServer.volumes + the chart's
//     own; ConfigMap argocd-cmp-cm with one key <name>.yaml per configs.cmp.plugins.<name>, holding
//     {apiVersion, kind: ConfigManagementPlugin, metadata: {name}, spec: <the value>}.
// The model was checked against `helm template` (Helm v3.22.0) of argo-cd chart 10.1.1 with the
// same values: the same containers, volumes and ConfigMap keys in each case below.
const CHART_DEFAULTS = { global: { extraVolumes: [] }, configs: { cmp: { create: false, plugins: {} } }, repoServer: { extraContainers: [], volumes: [] } };
const CHART_VOLUMES = ['helm-working-dir', 'plugins', 'var-files', 'tmp', 'ssh-known-hosts', 'tls-certs', 'gpg-keys', 'gpg-keyring', 'argocd-repo-server-tls'];

const isMap = (v: unknown): v is Any => typeof v === 'object' && v !== null && !Array.isArray(v);
function helmMerge(...files: Any[]): Any {
  const merge = (a: Any, b: Any): Any => {
    const out: Any = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k], v) : v;
    return out;
  };
  return files.reduce(merge, structuredClone(CHART_DEFAULTS));
}

function chartRender(values: Any): { containers: Any[]; volumes: Any[]; cmpData: Record<string, string> } {
  const cmpData: Record<string, string> = {};
  if (values.configs.cmp.create) {
    for (const [name, spec] of Object.entries(values.configs.cmp.plugins as Any)) {
      cmpData[`${name}.yaml`] = stringify({ apiVersion: 'argoproj.io/v1alpha1', kind: 'ConfigManagementPlugin', metadata: { name }, spec });
    }
  }
  return {
    containers: [{ name: 'repo-server' }, ...values.repoServer.extraContainers], // the chart names its container repo-server
    volumes: [...values.global.extraVolumes, ...values.repoServer.volumes, ...CHART_VOLUMES.map((name) => ({ name, emptyDir: {} }))],
    cmpData,
  };
}

// Values that already run a plugin, shaped as the chart's own commented example (values.yaml,
// configs.cmp.plugins and repoServer.extraContainers "cmp-my-plugin").
const OTHER_PLUGIN_VALUES = parse(`
configs:
  cmp:
    create: true
    plugins:
      my-plugin:
        generate:
          command: [sh, -c]
          args: ['echo "{\\"kind\\": \\"ConfigMap\\", \\"apiVersion\\": \\"v1\\", \\"metadata\\": {\\"name\\": \\"$ARGOCD_APP_NAME\\"}}"']
        discover:
          fileName: "./subdir/s*.yaml"
repoServer:
  extraContainers:
    - name: cmp-my-plugin
      command: [/var/run/argocd/argocd-cmp-server]
      image: busybox
      securityContext: {runAsNonRoot: true, runAsUser: 999}
      volumeMounts:
        - {mountPath: /var/run/argocd, name: var-files}
        - {mountPath: /home/argocd/cmp-server/plugins, name: plugins}
        - {mountPath: /home/argocd/cmp-server/config/plugin.yaml, subPath: my-plugin.yaml, name: argocd-cmp-cm}
        - {mountPath: /tmp, name: cmp-tmp}
  volumes:
    - name: argocd-cmp-cm
      configMap: {name: argocd-cmp-cm}
    - name: cmp-tmp
      emptyDir: {}
`) as Any;

/**
 * The README's recipe for values that already set these lists: add configs.cmp.create and
 * configs.cmp.plugins.modelpin, and append the items of repoServer.extraContainers and
 * repoServer.volumes from helm-values.yaml to yours.
 */
function applyRecipe(mine: Any, ours: Any): Any {
  const out = structuredClone(mine);
  out.configs.cmp.create = true;
  out.configs.cmp.plugins.modelpin = ours.configs.cmp.plugins.modelpin;
  out.repoServer.extraContainers.push(...ours.repoServer.extraContainers);
  out.repoServer.volumes.push(...ours.repoServer.volumes);
  return out;
}

/** Every plugin container mounts volumes that exist, its plugin.yaml from a key argocd-cmp-cm has, and a /tmp of its own. */
function expectPluginsMounted(r: ReturnType<typeof chartRender>, plugins: Record<string, string>): void {
  const volumes = Object.fromEntries(r.volumes.map((v) => [v.name, v]));
  expect(Object.keys(volumes)).toHaveLength(r.volumes.length); // unique names
  const tmps = new Set<string>();
  for (const [container, key] of Object.entries(plugins)) {
    const c = r.containers.find((x) => x.name === container)!;
    expect(c, container).toBeDefined();
    for (const m of c.volumeMounts as Any[]) expect(volumes[m.name], `${container} mounts ${m.name}`).toBeDefined();
    const config = (c.volumeMounts as Any[]).find((m) => m.mountPath === '/home/argocd/cmp-server/config/plugin.yaml')!;
    expect(config.subPath).toBe(key);
    expect(volumes[config.name].configMap.name).toBe('argocd-cmp-cm');
    expect(Object.keys(r.cmpData)).toContain(key);
    tmps.add((c.volumeMounts as Any[]).find((m) => m.mountPath === '/tmp')!.name);
  }
  expect(tmps.size).toBe(Object.keys(plugins).length);
}

describe('plugin/install/helm-values.yaml (argo-cd chart)', () => {
  const values = parse(read('plugin/install/helm-values.yaml')) as Any;

  it('declares the same plugin spec as plugin.yaml', () => {
    expect(values.configs.cmp.create).toBe(true);
    expect(Object.keys(values.configs.cmp.plugins)).toEqual([plugin.metadata.name]);
    expect(values.configs.cmp.plugins.modelpin).toEqual(plugin.spec);
    // What the chart writes under argocd-cmp-cm's modelpin.yaml is plugin.yaml.
    expect(parse(chartRender(helmMerge(values)).cmpData['modelpin.yaml']!)).toEqual(plugin);
  });

  it('adds the same sidecar container as the kustomize patch (volumes named alike), mounting the chart ConfigMap key', () => {
    const c = (values.repoServer.extraContainers as Any[]).find((x) => x.name === 'modelpin')!;
    expectCmpContainer(c, 'modelpin-cmp-plugin', 'modelpin.yaml');
    const patch = parse(read('plugin/install/argocd-repo-server.yaml')).spec.template.spec.containers[0] as Any;
    const withoutSubPath = (x: Any) => ({ ...x, volumeMounts: (x.volumeMounts as Any[]).map(({ subPath: _s, ...m }) => m) });
    expect(withoutSubPath(c)).toEqual(withoutSubPath(patch));
    // Every entry is named modelpin*: appended to anyone's lists, nothing collides.
    for (const item of [...values.repoServer.extraContainers, ...values.repoServer.volumes] as Any[]) expect(item.name).toMatch(/^modelpin/);
  });

  it('alone (no other plugin): one plugin, mounted from its ConfigMap key', () => {
    expectPluginsMounted(chartRender(helmMerge(values)), { modelpin: 'modelpin.yaml' });
  });

  it('passed as a second -f after values that run another plugin, it REPLACES that plugin (Helm replaces lists)', () => {
    const r = chartRender(helmMerge(OTHER_PLUGIN_VALUES, values));
    expect(r.containers.map((c) => c.name)).toEqual(['repo-server', 'modelpin']);
    expect(r.volumes.map((v) => v.name)).not.toContain('cmp-tmp');
    // The other plugin's spec survives in the ConfigMap (a map), with no container left to run it.
    expect(Object.keys(r.cmpData).sort()).toEqual(['modelpin.yaml', 'my-plugin.yaml']);
  });

  it('the merge recipe keeps both plugins, their volumes and both ConfigMap keys', () => {
    const merged = applyRecipe(OTHER_PLUGIN_VALUES, values);
    const r = chartRender(helmMerge(merged));
    expect(r.containers.map((c) => c.name)).toEqual(['repo-server', 'cmp-my-plugin', 'modelpin']);
    expect(Object.keys(r.cmpData).sort()).toEqual(['modelpin.yaml', 'my-plugin.yaml']);
    expect(r.volumes.map((v) => v.name)).toEqual(expect.arrayContaining(['argocd-cmp-cm', 'cmp-tmp', 'modelpin-cmp-plugin', 'modelpin-cmp-tmp']));
    expectPluginsMounted(r, { 'cmp-my-plugin': 'my-plugin.yaml', modelpin: 'modelpin.yaml' });
    expect(parse(r.cmpData['modelpin.yaml']!)).toEqual(plugin);
    expect(parse(r.cmpData['my-plugin.yaml']!).spec).toEqual(OTHER_PLUGIN_VALUES.configs.cmp.plugins['my-plugin']);
    // Passing helm-values.yaml again after the merged file would undo the merge: use the merged file alone.
    expect(chartRender(helmMerge(merged, values)).containers.map((c) => c.name)).toEqual(['repo-server', 'modelpin']);
  });
});

describe('examples', () => {
  it('Application and ApplicationSet name the plugin and only parameters it announces', () => {
    const announced = (plugin.spec.parameters.static as Any[]).map((p) => p.name);
    const app = parse(read('plugin/examples/application.yaml')) as Any;
    const set = parse(read('plugin/examples/applicationset.yaml')) as Any;
    for (const source of [app.spec.source, set.spec.template.spec.source]) {
      expect(source.plugin.name).toBe('modelpin'); // no spec.version → plain name
      for (const p of source.plugin.parameters as Any[]) expect(announced).toContain(p.name);
    }
    expect(set.spec.generators[0].clusters).toBeDefined();
    expect(set.spec.template.spec.source.plugin.parameters).toContainEqual({ name: 'cluster', string: '{{name}}' });
  });

  it('the example spec points editors at the committed schema and pins the committed model file', () => {
    const text = read('plugin/examples/fraud-detector/modelpin.yaml');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schema/modelpin.schema.json');
    const bytes = readFileSync(join(root, 'plugin/examples/fraud-detector/model.onnx'));
    const spec = parse(text) as Any;
    expect(spec.spec.model.digest).toBe('sha256:' + createHash('sha256').update(bytes).digest('hex'));
    expect(spec.spec.model.size).toBe(bytes.length);
  });
});

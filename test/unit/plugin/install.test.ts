// The install manifests and examples stay consistent with plugin.yaml and with the CMP contract
// (reference/argocd-cmp.md): `kubectl kustomize` builds them for real.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { PARAMETER_NAMES } from '../../../plugin/argocd-env.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const pluginText = read('plugin/plugin.yaml');
const plugin = parse(pluginText) as Any;

type Any = Record<string, any>;

function kustomize(dir: string): Any[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('kubectl is not installed; it is needed to build plugin/install (install kubectl ≥ 1.27)');
    throw new Error(`kubectl kustomize ${dir} failed: ${err.stderr ?? err.message}`);
  }
  return parseAllDocuments(out).map((d) => d.toJS() as Any);
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
  expect(['var-files', 'plugins']).not.toContain(mounts['/tmp'].name); // its own /tmp, not the repo-server's
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
  it('builds: the plugin ConfigMap and the repo-server sidecar container', () => {
    const objs = kustomize(join(root, 'plugin/install'));
    const cm = objs.find((o) => o.kind === 'ConfigMap')!;
    expect(cm.metadata).toMatchObject({ name: 'modelpin-cmp-plugin', namespace: 'argocd' });
    expect(cm.data['plugin.yaml']).toBe(pluginText);
    const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'argocd-repo-server')!;
    const c = (dep.spec.template.spec.containers as Any[]).find((x) => x.name === 'modelpin')!;
    expectCmpContainer(c, 'modelpin-cmp-plugin', 'plugin.yaml');
    const vols = Object.fromEntries((dep.spec.template.spec.volumes as Any[]).map((v) => [v.name, v]));
    expect(vols['modelpin-cmp-plugin'].configMap.name).toBe(cm.metadata.name);
    const tmp = (c.volumeMounts as Any[]).find((m) => m.mountPath === '/tmp')!;
    expect(vols[tmp.name].emptyDir).toBeDefined();
  });

  it('the component patches an upstream-shaped repo-server into one complete Deployment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelpin-kust-'));
    try {
      cpSync(join(root, 'plugin/install'), join(dir, 'install'), { recursive: true });
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [repo-server.yaml]\ncomponents: [install/component]\n');
      writeFileSync(
        join(dir, 'repo-server.yaml'),
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata: {name: argocd-repo-server}',
          'spec:',
          '  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}',
          '  template:',
          '    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}',
          '    spec:',
          '      containers: [{name: argocd-repo-server, image: quay.io/argoproj/argocd:v3.1.0}]',
          '      volumes: [{name: var-files, emptyDir: {}}, {name: plugins, emptyDir: {}}, {name: tmp, emptyDir: {}}]',
          '',
        ].join('\n'),
      );
      const objs = kustomize(dir);
      const deps = objs.filter((o) => o.kind === 'Deployment');
      expect(deps).toHaveLength(1);
      const spec = deps[0]!.spec.template.spec;
      expect((spec.containers as Any[]).map((c) => c.name)).toEqual(['modelpin', 'argocd-repo-server']);
      expect((spec.volumes as Any[]).map((v) => v.name).sort()).toEqual(['modelpin-cmp-plugin', 'modelpin-cmp-tmp', 'plugins', 'tmp', 'var-files']);
      expectCmpContainer((spec.containers as Any[])[0]!, 'modelpin-cmp-plugin', 'plugin.yaml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('plugin/install/helm-values.yaml (argo-cd chart)', () => {
  const values = parse(read('plugin/install/helm-values.yaml')) as Any;

  it('declares the same plugin spec as plugin.yaml', () => {
    expect(values.configs.cmp.create).toBe(true);
    // The chart wraps configs.cmp.plugins.<name> as {apiVersion, kind, metadata: {name}, spec: <value>}.
    expect(Object.keys(values.configs.cmp.plugins)).toEqual([plugin.metadata.name]);
    expect(values.configs.cmp.plugins.modelpin).toEqual(plugin.spec);
  });

  it('adds the same sidecar container as the kustomize patch, mounting the chart ConfigMap key', () => {
    const c = (values.repoServer.extraContainers as Any[]).find((x) => x.name === 'modelpin')!;
    expectCmpContainer(c, 'argocd-cmp-cm', 'modelpin.yaml');
    const vols = Object.fromEntries((values.repoServer.volumes as Any[]).map((v) => [v.name, v]));
    expect(vols['argocd-cmp-cm'].configMap.name).toBe('argocd-cmp-cm');
    const patch = parse(read('plugin/install/argocd-repo-server.yaml')).spec.template.spec.containers[0] as Any;
    const comparable = (x: Any) => ({ ...x, volumeMounts: undefined });
    expect(comparable(c)).toEqual(comparable(patch));
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

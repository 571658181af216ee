// plugin/install against Argo CD's real install manifest (manifests/install.yaml of the argo-cd
// release the harness is built from; test/argocd/build.mjs puts it beside the harness):
//   - the component, in a kustomization that builds Argo CD, gives one complete repo-server;
//   - `kubectl apply --server-side -k plugin/install` merges by name into the live repo-server
//     (modelled with kubectl's own strategic merge, offline: `kubectl patch --local`);
//   - a client-side `kubectl apply` does not: kubectl's three-way merge (run by the harness with
//     kubectl's own code) deletes what the partial Deployment leaves out. The README says why.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findHarness } from './support/argocd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
type Any = Record<string, any>;

let harness: string;
let work: string;
let upstream: Any[];
let upstreamRepoServer: Any;

const docs = (text: string): Any[] => parseAllDocuments(text).map((d) => d.toJS() as Any).filter((o) => o !== null);
const kubectl = (...args: string[]) => execFileSync('kubectl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
const repoServerOf = (objs: Any[]) => objs.filter((o) => o.kind === 'Deployment' && o.metadata.name === 'argocd-repo-server');
const names = (list: Any[] | undefined) => (list ?? []).map((x) => x.name as string);

beforeAll(() => {
  harness = findHarness();
  work = mkdtempSync(join(tmpdir(), 'modelpin-argo-install-'));
  cpSync(join(dirname(harness), 'install.yaml'), join(work, 'install.yaml'));
  upstream = docs(readFileSync(join(work, 'install.yaml'), 'utf8'));
  upstreamRepoServer = repoServerOf(upstream)[0]!;
  writeFileSync(join(work, 'live.json'), JSON.stringify(upstreamRepoServer));
  // What `kubectl apply -k plugin/install` sends: the built partial Deployment.
  const partial = repoServerOf(docs(kubectl('kustomize', join(root, 'plugin/install'))))[0]!;
  writeFileSync(join(work, 'partial.json'), JSON.stringify(partial));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Argo CD's repo-server pod with the plugin: nothing of upstream's lost, the plugin added and sound. */
function expectUpstreamPlusPlugin(dep: Any): void {
  const up = upstreamRepoServer.spec.template;
  const t = dep.spec.template;
  expect(dep.spec.selector).toEqual(upstreamRepoServer.spec.selector);
  expect(t.spec.initContainers).toEqual(up.spec.initContainers);
  for (const c of up.spec.containers as Any[]) expect((t.spec.containers as Any[]).find((x) => x.name === c.name)).toEqual(c);
  expect(names(t.spec.containers)).toEqual(['modelpin', ...names(up.spec.containers)]);
  for (const v of up.spec.volumes as Any[]) expect((t.spec.volumes as Any[]).find((x) => x.name === v.name)).toEqual(v);
  expect(names(t.spec.volumes).sort()).toEqual([...names(up.spec.volumes), 'modelpin-cmp-plugin', 'modelpin-cmp-tmp'].sort());
  // The CMP contract's shared volumes are the ones upstream declares, and every mount resolves.
  const plugin = (t.spec.containers as Any[])[0]!;
  for (const m of plugin.volumeMounts as Any[]) expect(names(t.spec.volumes)).toContain(m.name);
  expect(plugin.volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'var-files', mountPath: '/var/run/argocd' }), expect.objectContaining({ name: 'plugins', mountPath: '/home/argocd/cmp-server/plugins' })]));
  // kubectl logs/exec default to the repo-server, which upstream names this way.
  expect(t.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('argocd-repo-server');
  expect(names(up.spec.containers)).toContain('argocd-repo-server');
  for (const [k, v] of Object.entries((up.metadata.annotations ?? {}) as Record<string, string>)) expect(t.metadata.annotations[k]).toBe(v);
}

describe(`plugin/install against Argo CD's install.yaml`, () => {
  it('is the real manifest, with one repo-server Deployment', () => {
    expect(upstream.length).toBeGreaterThan(40);
    expect(repoServerOf(upstream)).toHaveLength(1);
  });

  it('the component in a kustomization that builds Argo CD: one complete repo-server, everything else untouched', () => {
    const dir = join(work, 'component-build');
    cpSync(join(root, 'plugin/install'), join(dir, 'install'), { recursive: true });
    cpSync(join(work, 'install.yaml'), join(dir, 'install.yaml'));
    writeFileSync(join(dir, 'kustomization.yaml'), 'namespace: argocd\nresources: [install.yaml]\ncomponents: [install/component]\n');
    const built = docs(kubectl('kustomize', dir));
    const deps = repoServerOf(built);
    expect(deps).toHaveLength(1);
    expectUpstreamPlusPlugin(deps[0]!);
    const cm = built.find((o) => o.kind === 'ConfigMap' && (o.metadata.name as string).startsWith('modelpin-cmp-plugin-'))!;
    expect((deps[0]!.spec.template.spec.volumes as Any[]).find((v) => v.name === 'modelpin-cmp-plugin')!.configMap.name).toBe(cm.metadata.name);
    expect(built).toHaveLength(upstream.length + 1);
  });

  it('kubectl apply --server-side -k plugin/install: merged by name into the live repo-server, nothing lost', () => {
    const merged = JSON.parse(kubectl('patch', '--local', '-f', join(work, 'live.json'), '--type', 'strategic', '--patch-file', join(work, 'partial.json'), '-o', 'json')) as Any;
    expectUpstreamPlusPlugin(merged);
  });

  it('a client-side kubectl apply over a client-side install deletes the repo-server container (why the README says --server-side)', () => {
    // After `kubectl apply -f install.yaml` (client-side), the live object carries itself as its
    // last-applied configuration; applying the partial Deployment then deletes what it omits.
    const result = JSON.parse(
      execFileSync(harness, ['client-side-apply', '--last-applied', join(work, 'live.json'), '--config', join(work, 'partial.json'), '--live', join(work, 'live.json')], { encoding: 'utf8' }),
    ) as Any;
    expect(names(result.spec.template.spec.containers)).toEqual(['modelpin']);
    expect(result.spec.template.spec.initContainers).toBeUndefined();
    expect(result.spec.selector).toBeUndefined();
  });
});

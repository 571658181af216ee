// The README's "Getting started in a cluster" runs against a real cluster only by hand, so the
// parts that can be checked here are: the kustomization of step 2 builds with `kubectl kustomize`
// and puts the user's plugin image, by digest, into the repo-server; the Application of step 5
// names the plugin and an overlay the example has; the uninstall patch of step 10 removes the
// plugin from a complete repo-server Deployment and nothing else.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

type Any = Record<string, any>;
const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const start = readme.indexOf('\n## Getting started in a cluster');
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
const work = mkdtempSync(join(tmpdir(), 'modelpin-readme-cluster-'));
// A checkout's plugin/ beside the directories the steps create, as in the README.
beforeAll(() => cpSync(join(root, 'plugin'), join(work, 'plugin'), { recursive: true }));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The body of the first `cat > <file> <<YAML … YAML` heredoc that writes `file`, or of `-f - <<YAML`. */
function heredoc(after: string): string {
  const i = section.indexOf(after);
  expect(i, `README step with ${after}`).toBeGreaterThan(0);
  const body = /<<YAML\n([\s\S]*?)\nYAML\n/.exec(section.slice(i))?.[1];
  expect(body).toBeDefined();
  return body!;
}

function kubectl(args: string[]): string {
  try {
    return execFileSync('kubectl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('kubectl is not installed; it is needed to check the README install steps');
    throw new Error(`kubectl ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('README: Getting started in a cluster', () => {
  it('step 2: the kustomization builds and puts your plugin image, by digest, into argocd-repo-server', () => {
    mkdirSync(join(work, 'argocd-modelpin'));
    const text = heredoc('cat > argocd-modelpin/kustomization.yaml').replaceAll('$REGISTRY', 'registry.example.com/ml').replaceAll('$PLUGIN_DIGEST', DIGEST);
    writeFileSync(join(work, 'argocd-modelpin/kustomization.yaml'), text);
    const objs = parseAllDocuments(kubectl(['kustomize', join(work, 'argocd-modelpin')])).map((d) => d.toJS() as Any);
    const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'argocd-repo-server')!;
    const c = (dep.spec.template.spec.containers as Any[]).find((x) => x.name === 'modelpin')!;
    expect(c.image).toBe(`registry.example.com/ml/modelpin-plugin@${DIGEST}`);
    expect(objs.every((o) => o.metadata.namespace === 'argocd')).toBe(true);
  });

  it('step 5: the Application names the plugin and an overlay the example defines', () => {
    const app = parse(heredoc('kubectl apply -n argocd -f -')) as Any;
    expect(app.kind).toBe('Application');
    expect(app.spec.source.plugin.name).toBe(parse(readFileSync(join(root, 'plugin/plugin.yaml'), 'utf8')).metadata.name);
    const cluster = (app.spec.source.plugin.parameters as Any[]).find((p) => p.name === 'cluster')!.string;
    const example = parse(readFileSync(join(root, 'plugin/examples/fraud-detector/modelpin.yaml'), 'utf8')) as Any;
    expect(Object.keys(example.spec.clusters)).toContain(cluster);
    expect(example.spec.model.credentials.secretName).toBe('fraud-detector-s3'); // the Secret of step 4
    expect(section).toContain('create secret generic fraud-detector-s3');
  });

  it('step 10: the uninstall patch removes the plugin container and its volumes, nothing else', () => {
    const dir = join(work, 'component');
    mkdirSync(dir);
    // kustomize takes only relative component paths.
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [repo-server.yaml]\ncomponents: [../plugin/install/component]\n');
    writeFileSync(
      join(dir, 'repo-server.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: argocd-repo-server}\nspec:\n  selector: {matchLabels: {app: r}}\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n      containers: [{name: argocd-repo-server, image: quay.io/argoproj/argocd:v3.1.0}]\n      volumes: [{name: var-files, emptyDir: {}}, {name: plugins, emptyDir: {}}]\n',
    );
    const installed = parseAllDocuments(kubectl(['kustomize', dir])).map((d) => d.toJS() as Any).find((o) => o.kind === 'Deployment')!;
    expect((installed.spec.template.spec.containers as Any[]).map((c) => c.name)).toContain('modelpin');
    writeFileSync(join(work, 'installed.json'), JSON.stringify(installed));
    const patch = /kubectl -n argocd patch deployment argocd-repo-server --type strategic -p \\\n\s*'([^']+)'/.exec(section)?.[1];
    expect(patch).toBeDefined();
    const after = JSON.parse(kubectl(['patch', '--local', '-f', join(work, 'installed.json'), '--type', 'strategic', '-p', patch!, '-o', 'json'])) as Any;
    expect((after.spec.template.spec.containers as Any[]).map((c) => c.name)).toEqual(['argocd-repo-server']);
    expect((after.spec.template.spec.volumes as Any[]).map((v) => v.name).sort()).toEqual(['plugins', 'var-files']);
    // The ConfigMap goes by its label, whatever its name.
    const cm = parseAllDocuments(kubectl(['kustomize', join(root, 'plugin/install')])).map((d) => d.toJS() as Any).find((o) => o.kind === 'ConfigMap')!;
    expect(section).toContain(`kubectl -n argocd delete configmap -l app.kubernetes.io/component=${cm.metadata.labels['app.kubernetes.io/component']}`);
  });
});

// renderText: the parse → (resolve) → render → serialize path the CLI and Argo CD use.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ModelpinError } from '../../../src/errors.js';
import { renderText } from '../../../src/render/pipeline.js';
import { parseSpec } from '../../../src/spec/parse.js';

const IMAGE = 'ghcr.io/modelpin/modelpin-sidecar:0.1.0@sha256:' + '11'.repeat(32);
const DIGEST = 'sha256:' + 'ab'.repeat(32);
const spec = (digest?: string, image = IMAGE) =>
  [
    'apiVersion: modelpin.dev/v1alpha1',
    'kind: ModelDeployment',
    'metadata: {name: m}',
    'spec:',
    '  model:',
    '    uri: https://models.example.com/m.onnx',
    ...(digest ? [`    digest: ${digest}`] : []),
    '  serving:',
    `    image: ${image}`,
    '',
  ].join('\n');
const kube = { major: 1, minor: 30 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ModelpinError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('renderText', () => {
  it('renders what was asked for: a broken overlay fails only the cluster that uses it (validate still sees it)', async () => {
    const text = spec(DIGEST) + 'clusters:\n  good: {replicas: 2}\n  bad: {replicaz: 3}\n'.replace(/^/gm, '  ');
    expect((await renderText(text, { file: 'modelpin.yaml', kubeVersion: kube })).output).toContain('kind: Deployment');
    expect((await renderText(text, { file: 'modelpin.yaml', kubeVersion: kube, cluster: 'good' })).output).toContain('replicas: 2');
    expect(await codeOf(renderText(text, { file: 'modelpin.yaml', kubeVersion: kube, cluster: 'bad' }))).toBe('MODELPIN_E_SPEC_UNKNOWN_FIELD');
    expect(await codeOf(Promise.resolve().then(() => parseSpec(text, { file: 'modelpin.yaml' })))).toBe('MODELPIN_E_SPEC_UNKNOWN_FIELD');
  });

  it('refuses an unpinned spec unless resolution is requested', async () => {
    expect(await codeOf(renderText(spec(), { file: 'modelpin.yaml', kubeVersion: kube }))).toBe('MODELPIN_E_SPEC_UNPINNED');
  });

  it('pins an unpinned spec through the resolver and marks the workload', async () => {
    const seen: string[] = [];
    const { output } = await renderText(spec(), {
      file: 'modelpin.yaml',
      kubeVersion: kube,
      resolve: async (s) => {
        seen.push(s.spec.model.uri);
        return { uri: 'https://models.example.com/m.onnx?v=2', digest: DIGEST, size: 42 };
      },
    });
    expect(seen).toEqual(['https://models.example.com/m.onnx']);
    const dep = parseAllDocuments(output).map((d) => d.toJS()).find((o) => o.kind === 'Deployment');
    expect(dep.metadata.annotations['modelpin.dev/resolved-at-render']).toBe('true');
    expect(dep.spec.template.metadata.annotations['modelpin.dev/model-digest']).toBe(DIGEST);
    expect(dep.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['--size', '42', '--uri', 'https://models.example.com/m.onnx?v=2']));
  });

  it('leaves a pinned spec alone even when resolution is allowed', async () => {
    let called = false;
    const { output } = await renderText(spec(DIGEST), {
      file: 'modelpin.yaml',
      kubeVersion: kube,
      resolve: async () => {
        called = true;
        return { uri: 'x', digest: DIGEST };
      },
    });
    expect(called).toBe(false);
    expect(output).not.toContain('resolved-at-render');
  });

  it('reports an unpinned image once (parser and render both notice it) and fails under strict', async () => {
    const text = spec(DIGEST, 'ghcr.io/modelpin/modelpin-sidecar:0.1.0');
    const { warnings } = await renderText(text, { file: 'modelpin.yaml', kubeVersion: kube });
    expect(warnings.map((w) => w.code)).toEqual(['MODELPIN_E_IMAGE_UNPINNED']);
    expect(warnings[0]!.line).toBe(9); // the parser's copy, with its position
    expect(await codeOf(renderText(text, { file: 'modelpin.yaml', kubeVersion: kube, strict: true }))).toBe('MODELPIN_E_IMAGE_UNPINNED');
  });

  it('carries warnings on the workload as modelpin.dev/warnings (what the Argo CD UI shows), never in the pod template', async () => {
    type Obj = { kind: string; metadata: { annotations?: Record<string, string> }; spec?: { template: unknown } };
    const workload = async (text: string, file = 'modelpin.yaml') => {
      const { output } = await renderText(text, { file, kubeVersion: kube });
      return parseAllDocuments(output).map((d) => d.toJS() as Obj).find((o) => o.kind === 'Deployment' || o.kind === 'Rollout')!;
    };
    const unpinned = spec(DIGEST, 'ghcr.io/modelpin/modelpin-sidecar:0.1.0');
    const dep = await workload(unpinned);
    expect(dep.metadata.annotations?.['modelpin.dev/warnings']).toBe(
      'MODELPIN_E_IMAGE_UNPINNED at spec.serving.image: image "ghcr.io/modelpin/modelpin-sidecar:0.1.0" is not pinned by digest; ' +
        'a tag can be moved to different bytes (fix: append the digest: <image>:<tag>@sha256:<hex> (e.g. from `docker buildx imagetools inspect <image>`))',
    );
    expect(JSON.stringify(dep.spec!.template)).not.toContain('modelpin.dev/warnings');
    // Deterministic, and independent of the path render was given or of lines moving above it.
    expect(await workload('# a comment that moves every line\n' + unpinned, 'deploy/fraud/modelpin.yaml')).toEqual(dep);
    // The same on a Rollout, one line per warning (the app image too), in the parser's order.
    const canary = unpinned.replace('metadata: {name: m}', 'metadata: {name: m, annotations: {owner: risk}}') +
      '  app: {image: example/app:1}\n  rollout: {canary: {steps: [{weight: 50}]}}\n';
    const rollout = await workload(canary);
    expect(rollout.kind).toBe('Rollout');
    expect(Object.keys(rollout.metadata.annotations!)).toEqual(['modelpin.dev/warnings', 'owner']);
    expect(rollout.metadata.annotations!['modelpin.dev/warnings']!.split('\n').map((l) => l.split(':')[0])).toEqual([
      'MODELPIN_E_IMAGE_UNPINNED at spec.serving.image',
      'MODELPIN_E_IMAGE_UNPINNED at spec.app.image',
    ]);
    expect(JSON.stringify(rollout.spec!.template)).not.toContain('modelpin.dev/warnings');
    // No warnings, no annotation.
    expect((await workload(spec(DIGEST))).metadata.annotations).toBeUndefined();
  });

  it('prints JSON as a v1 List', async () => {
    const { output } = await renderText(spec(DIGEST), { file: 'modelpin.yaml', kubeVersion: kube, format: 'json' });
    const list = JSON.parse(output);
    expect([list.apiVersion, list.kind, list.items.length]).toEqual(['v1', 'List', 3]);
  });
});

// Valid specs: defaults, freezing, cluster overlays, warnings.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelpinError, type Problem } from '../../../src/errors.js';
import { listClusters, parseSpec } from '../../../src/spec/parse.js';

const VALID = new URL('../../fixtures/specs/valid/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, VALID), 'utf8');
const minimal = read('minimal.yaml');
const full = read('full.yaml');

function problems(text: string, opts: { cluster?: string; allowUnpinned?: boolean } = {}): Problem[] {
  try {
    parseSpec(text, { file: 'modelpin.yaml', ...opts });
  } catch (e) {
    if (e instanceof ModelpinError) return [...e.problems];
    throw e;
  }
  throw new Error('parsed without error');
}

describe('defaults', () => {
  it('fills every default of a minimal spec', () => {
    const { spec, warnings } = parseSpec(minimal, { file: 'modelpin.yaml' });
    expect(warnings).toEqual([]);
    expect(spec.spec.model.format).toBe('onnx');
    expect(spec.spec.model.entry).toBeUndefined();
    expect(spec.spec.serving.port).toBe(8080);
    expect(spec.spec.serving.startupTimeoutSeconds).toBe(600);
    expect(spec.spec.replicas).toBe(1);
    expect(spec.spec.app).toBeUndefined();
    expect(spec.spec.rollout).toBeUndefined();
  });

  it('fills nested defaults only where their parent exists', () => {
    const { spec } = parseSpec(full, { file: 'modelpin.yaml' });
    expect(spec.spec.model.entry).toBe('model.onnx'); // format tar
    expect(spec.spec.model.signature?.publicKey.key).toBe('cosign.pub');
    expect(spec.spec.rollout?.canary.analysis?.interval).toBe('1m');
    expect(spec.spec.rollout?.canary.analysis?.failureLimit).toBe(1);
    expect(spec.spec.rollout?.canary.steps[2]).toEqual({ weight: 100 });
    // YAML numbers in quantities become strings (cpu: 2 → "2").
    expect(spec.spec.serving.resources?.limits).toEqual({ memory: '1Gi', cpu: '2' });
    expect(spec.spec.replicas).toBe(2);
  });

  it('keeps explicit values over defaults', () => {
    const text = minimal.replace('  serving:\n', '  replicas: 0\n  serving:\n    port: 9000\n    startupTimeoutSeconds: 30\n');
    const { spec } = parseSpec(text, { file: 'modelpin.yaml' });
    expect([spec.spec.replicas, spec.spec.serving.port, spec.spec.serving.startupTimeoutSeconds]).toEqual([0, 9000, 30]);
  });
});

describe('the result is deeply frozen', () => {
  it('cannot be changed at any depth', () => {
    const { spec, warnings } = parseSpec(full, { file: 'modelpin.yaml' });
    const values: unknown[] = [spec, spec.metadata, spec.metadata.labels, spec.spec, spec.spec.model, spec.spec.serving.env, spec.spec.serving.env?.[0], spec.spec.rollout?.canary.steps, warnings];
    for (const v of values) expect(Object.isFrozen(v)).toBe(true);
    expect(() => {
      (spec.spec as { replicas: number }).replicas = 9;
    }).toThrow(TypeError);
  });

  it('never keeps `clusters`', () => {
    const { spec, clusters } = parseSpec(full, { file: 'modelpin.yaml' });
    expect('clusters' in spec.spec).toBe(false);
    expect(clusters).toEqual(['prod-eu', 'staging']);
    expect('clusters' in parseSpec(full, { file: 'modelpin.yaml', cluster: 'prod-eu' }).spec.spec).toBe(false);
  });
});

describe('cluster overlays', () => {
  it('merges objects recursively and keeps what the overlay does not set', () => {
    const { spec } = parseSpec(full, { file: 'modelpin.yaml', cluster: 'prod-eu' });
    expect(spec.spec.replicas).toBe(6);
    expect(spec.spec.serving.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi', cpu: '2' } });
    expect(spec.spec.serving.image).toMatch(/^ghcr\.io\/example\/modelpin/);
    expect(spec.spec.rollout?.canary.steps).toHaveLength(3);
  });

  it('replaces arrays wholesale and deletes keys set to null', () => {
    const { spec } = parseSpec(full, { file: 'modelpin.yaml', cluster: 'staging' });
    expect(spec.spec.app?.args).toEqual(['--debug']);
    expect(spec.spec.app?.image).toBe('ghcr.io/example/fraud-api:1.4.2');
    expect(spec.spec.rollout).toBeUndefined();
    expect(spec.spec.replicas).toBe(1);
  });

  it('does not change the base when no cluster is chosen', () => {
    const { spec } = parseSpec(full, { file: 'modelpin.yaml' });
    expect(spec.spec.replicas).toBe(2);
    expect(spec.spec.app?.args).toEqual(['--model-url', 'http://127.0.0.1:8080']);
  });

  it('accepts an empty overlay (the base as is)', () => {
    const text = minimal + '  clusters:\n    dev:\n';
    expect(parseSpec(text, { file: 'm.yaml', cluster: 'dev' }).spec.spec.replicas).toBe(1);
    expect(listClusters(text)).toEqual(['dev']);
  });

  it('an unknown cluster names the known ones', () => {
    const [p, ...rest] = problems(full, { cluster: 'prod-us' });
    expect(rest).toEqual([]);
    expect(p?.code).toBe('MODELPIN_E_SPEC_CLUSTER');
    expect(p?.message).toContain('known clusters: prod-eu, staging');
    expect(`${p?.line}:${p?.col}`).toBe('58:5');
  });

  it('inherited property names are not clusters', () => {
    for (const name of ['constructor', '__proto__', 'toString']) expect(problems(full, { cluster: name })[0]?.code).toBe('MODELPIN_E_SPEC_CLUSTER');
  });

  it('an empty cluster name counts as none (an empty Argo CD parameter)', () => {
    expect(parseSpec(full, { file: 'modelpin.yaml', cluster: '' }).spec.spec.replicas).toBe(2);
  });

  it('an unknown cluster in a spec without clusters says so', () => {
    const [p] = problems(minimal, { cluster: 'prod' });
    expect(p?.code).toBe('MODELPIN_E_SPEC_CLUSTER');
    expect(p?.message).toContain('defines no clusters');
  });

  it('a value set by the overlay is reported at the overlay', () => {
    const text = minimal + '  app:\n    image: example/app:1\n    port: 3000\n  clusters:\n    prod:\n      app:\n        port: 8080\n';
    // Valid as a base; the prod overlay makes app.port clash with serving.port.
    for (const opts of [{}, { cluster: 'prod' }]) {
      const ps = problems(text, opts);
      expect(ps.map((p) => [p.code, p.path, `${p.line}:${p.col}`])).toEqual([['MODELPIN_E_SPEC_INVALID', 'spec.clusters.prod.app.port', '17:15']]);
    }
  });

  it('a problem that only the merge creates, found in the base, names the overlay', () => {
    const text = minimal + '  app:\n    image: example/app:1\n    port: 3000\n  clusters:\n    prod:\n      serving:\n        port: 3000\n';
    const [p, ...rest] = problems(text);
    expect(rest).toEqual([]);
    expect(p?.path).toBe('spec.app.port');
    expect(`${p?.line}:${p?.col}`).toBe('13:11');
    expect(p?.message).toContain('with spec.clusters.prod merged over spec');
  });

  it('validates only the chosen overlay when a cluster is given', () => {
    const text = minimal + '  clusters:\n    good:\n      replicas: 2\n    bad:\n      replicas: -1\n';
    expect(parseSpec(text, { file: 'm.yaml', cluster: 'good' }).spec.spec.replicas).toBe(2);
    expect(problems(text, { cluster: 'bad' }).map((p) => p.path)).toEqual(['spec.clusters.bad.replicas']);
    expect(problems(text).map((p) => p.path)).toEqual(['spec.clusters.bad.replicas']);
  });

  it('lets an overlay supply what the base leaves out when that cluster is chosen', () => {
    // Per-cluster pins: the base has no digest, each cluster names its own.
    const digest = 'sha256:' + 'a'.repeat(64);
    const text = minimal.replace(/ {4}digest: .*\n/, '') + `  clusters:\n    canary:\n      model:\n        digest: ${digest}\n`;
    expect(parseSpec(text, { file: 'm.yaml', cluster: 'canary' }).spec.spec.model.digest).toBe(digest);
    expect(problems(text).map((p) => p.code)).toEqual(['MODELPIN_E_SPEC_UNPINNED']);
  });

  it('rejects unknown fields and `clusters` inside an overlay', () => {
    const text = minimal + '  clusters:\n    prod:\n      replcas: 2\n      clusters: {}\n';
    const ps = problems(text);
    expect(ps.map((p) => [p.code, p.path, p.message])).toEqual([
      ['MODELPIN_E_SPEC_UNKNOWN_FIELD', 'spec.clusters.prod.replcas', 'unknown field `replcas`; did you mean `replicas`?'],
      ['MODELPIN_E_SPEC_UNKNOWN_FIELD', 'spec.clusters.prod.clusters', 'unknown field `clusters`'],
    ]);
  });

  it('checks the shape of spec.clusters itself', () => {
    expect(problems(minimal + '  clusters: [prod]\n').map((p) => [p.path, p.message])).toEqual([['spec.clusters', 'must be a mapping of cluster name to overrides']]);
    const ps = problems(minimal + '  clusters:\n    "prod eu": {replicas: 2}\n    dev: 5\n');
    expect(ps.map((p) => [p.path, `${p.line}:${p.col}`])).toEqual([
      ['spec.clusters["prod eu"]', '12:5'],
      ['spec.clusters.dev', '13:10'],
    ]);
    expect(problems(minimal + '  clusters:\n    dev: 5\n', { cluster: 'dev' }).map((p) => p.path)).toEqual(['spec.clusters.dev']);
  });

  it('a `__proto__` key is an unknown field, in the base and in an overlay', () => {
    const text = minimal + '  __proto__: {replicas: 5}\n  clusters:\n    prod:\n      __proto__: {replicas: 7}\n';
    expect(problems(text).map((p) => [p.code, p.path])).toEqual([
      ['MODELPIN_E_SPEC_UNKNOWN_FIELD', 'spec.__proto__'],
      ['MODELPIN_E_SPEC_UNKNOWN_FIELD', 'spec.clusters.prod.__proto__'],
    ]);
    expect(({} as { replicas?: number }).replicas).toBeUndefined();
  });

  it('listClusters tolerates text that does not parse', () => {
    expect(listClusters(full)).toEqual(['prod-eu', 'staging']);
    expect(listClusters('a: [')).toEqual([]);
  });
});

describe('pinning', () => {
  it('allowUnpinned accepts a spec without digest', () => {
    const text = minimal.replace(/ {4}digest: .*\n/, '');
    expect(parseSpec(text, { file: 'm.yaml', allowUnpinned: true }).spec.spec.model.digest).toBeUndefined();
  });

  it('warns (does not fail) for images not pinned by digest', () => {
    const { warnings } = parseSpec(read('unpinned-image.yaml'), { file: 'u.yaml' });
    expect(warnings.map((w) => [w.code, w.path, `${w.line}:${w.col}`])).toEqual([
      ['MODELPIN_E_IMAGE_UNPINNED', 'spec.serving.image', '10:12'],
      ['MODELPIN_E_IMAGE_UNPINNED', 'spec.app.image', '12:12'],
    ]);
  });

  it('warns about an unpinned image set by an overlay, with or without choosing that cluster', () => {
    const text = minimal + '  clusters:\n    dev:\n      serving: {image: "example/modelpin:dev"}\n';
    for (const opts of [{}, { cluster: 'dev' }]) {
      const { warnings } = parseSpec(text, { file: 'm.yaml', ...opts });
      expect(warnings.map((w) => [w.code, w.path, `${w.line}:${w.col}`])).toEqual([['MODELPIN_E_IMAGE_UNPINNED', 'spec.clusters.dev.serving.image', '13:24']]);
    }
  });

  it('models:/ URIs are accepted with a tracking server in serving.env or gates', () => {
    const viaEnv = minimal
      .replace('s3://models/fraud/7/model.onnx', 'models:/fraud/7')
      .replace(/(image: .*\n)/, '$1    env:\n      - {name: MLFLOW_TRACKING_URI, value: "http://mlflow:5000"}\n');
    expect(parseSpec(viaEnv, { file: 'm.yaml' }).spec.spec.model.uri).toBe('models:/fraud/7');
    const viaGate = minimal.replace('s3://models/fraud/7/model.onnx', 'models:/fraud@champion') + '  gates:\n    mlflow:\n      trackingUri: http://mlflow:5000\n      metrics: {auc: {min: 0.8}}\n';
    expect(parseSpec(viaGate, { file: 'm.yaml' }).spec.spec.gates?.mlflow?.metrics).toEqual({ auc: { min: 0.8 } });
  });

  it('accepts absolute file URIs, https and s3 with versionId', () => {
    for (const uri of ['file:///models/m.onnx', 'https://models.example.com/m.onnx', 's3://models/m.onnx?versionId=abc']) {
      expect(parseSpec(minimal.replace('s3://models/fraud/7/model.onnx', uri), { file: 'm.yaml' }).spec.spec.model.uri).toBe(uri);
    }
  });

  it('refuses a plain absolute path and file://host', () => {
    expect(problems(minimal.replace('s3://models/fraud/7/model.onnx', '/models/m.onnx'))[0]?.hint).toBe('write file:///models/m.onnx');
    expect(problems(minimal.replace('s3://models/fraud/7/model.onnx', 'file://models/m.onnx'))[0]?.code).toBe('MODELPIN_E_SPEC_URI');
  });
});

describe('field grammars', () => {
  const withServing = (extra: string): string => minimal.replace(/(image: .*\n)/, `$1${extra}`);
  it('accepts Kubernetes quantities and rejects near misses', () => {
    const ok = withServing('    resources:\n      requests: {cpu: 250m, memory: 1.5Gi, ephemeral-storage: 1e9, nvidia.com/gpu: 1, hugepages-2Mi: "2e3"}\n');
    expect(parseSpec(ok, { file: 'm.yaml' }).spec.spec.serving.resources?.requests).toEqual({ cpu: '250m', memory: '1.5Gi', 'ephemeral-storage': '1000000000', 'nvidia.com/gpu': '1', 'hugepages-2Mi': '2e3' }); // 1e9 is a YAML number
    for (const bad of ['1GB', '-1', '1.2.3', 'Mi', '5 Gi']) {
      expect(problems(withServing(`    resources:\n      limits: {memory: "${bad}"}\n`))[0]?.path).toBe('spec.serving.resources.limits.memory');
    }
  });

  it('accepts combined durations and refuses zero pauses', () => {
    const steps = (pause: string): string => minimal + `  rollout:\n    canary:\n      steps:\n        - {weight: 10, pause: ${pause}}\n`;
    for (const d of ['30s', '5m', '1h', '1h30m', '2m30s']) expect(parseSpec(steps(d), { file: 'm.yaml' }).spec.spec.rollout?.canary.steps[0]?.pause).toBe(d);
    for (const d of ['0s', '5', '5min', '1d', '"m"']) expect(problems(steps(d))[0]?.path).toBe('spec.rollout.canary.steps[0].pause');
  });

  it('rejects duplicate env names', () => {
    const ps = problems(withServing('    env:\n      - {name: A, value: "1"}\n      - {name: A, value: "2"}\n'));
    expect(ps.map((p) => p.path)).toEqual(['spec.serving.env[1].name']);
  });

  it('batching bounds', () => {
    const ps = problems(withServing('    batching: {maxBatchSize: 2000, maxDelayMs: -1}\n'));
    expect(ps.map((p) => p.path)).toEqual(['spec.serving.batching.maxBatchSize', 'spec.serving.batching.maxDelayMs']);
  });
});

describe('credentials in URIs', () => {
  it('refuses a bare token in the user part of an https URI but allows ssh://git@ provenance links', () => {
    const withRepo = minimal.replace(/(digest: .*\n)/, '$1    provenance: {repo: "ssh://git@github.com/example/fraud.git"}\n');
    expect(parseSpec(withRepo, { file: 'm.yaml' }).spec.spec.model.provenance?.repo).toBe('ssh://git@github.com/example/fraud.git');
    const token = minimal.replace('s3://models/fraud/7/model.onnx', 'https://ghp_abcdef@models.example.com/m.onnx');
    const ps = problems(token);
    expect(ps.map((p) => [p.code, p.path])).toEqual([['MODELPIN_E_SPEC_INLINE_CREDENTIAL', 'spec.model.uri']]);
    expect(JSON.stringify(ps)).not.toContain('ghp_abcdef');
  });

  it('refuses user:password@ in the tracking URI and a token annotation', () => {
    const text = minimal.replace('metadata:\n', 'metadata:\n  annotations: {token: abc123}\n') + '  gates:\n    mlflow:\n      trackingUri: https://u:p@mlflow.example.com\n      metrics: {auc: {min: 0.5}}\n';
    expect(problems(text).map((p) => [p.code, p.path])).toEqual([
      ['MODELPIN_E_SPEC_INLINE_CREDENTIAL', 'metadata.annotations.token'],
      ['MODELPIN_E_SPEC_INLINE_CREDENTIAL', 'spec.gates.mlflow.trackingUri'],
    ]);
  });
});

// Behaviour of render(spec, ctx) on hand-made ModelDeployment values (the golden cases cover the
// full parse → render → serialize path byte for byte).
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ModelpinError } from '../../../src/errors.js';
import { cacheSizeLimit, DEFAULT_CACHE_SIZE_LIMIT } from '../../../src/render/cache-size.js';
import { render, type K8sObject, type RenderContext } from '../../../src/render/render.js';
import { toJsonList, toYamlStream } from '../../../src/render/serialize.js';
import type { ModelDeployment } from '../../../src/spec/types.js';
import { validateObject } from './k8s-validate.js';

const DIGEST = 'sha256:' + 'ab'.repeat(32);
const IMAGE = 'ghcr.io/modelpin/modelpin-sidecar:0.1.0@sha256:' + '11'.repeat(32);
const ctx: RenderContext = { kubeVersion: { major: 1, minor: 30 } };

function spec(over: Partial<ModelDeployment['spec']> = {}, meta: Partial<ModelDeployment['metadata']> = {}): ModelDeployment {
  return {
    apiVersion: 'modelpin.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'fraud', ...meta },
    spec: {
      model: { uri: 's3://models/fraud/model.onnx', digest: DIGEST, format: 'onnx' },
      serving: { image: IMAGE, port: 8080, grpcPort: 8081, startupTimeoutSeconds: 600 },
      replicas: 1,
      ...over,
    },
  };
}

type Any = Record<string, any>;
const byKind = (objs: readonly K8sObject[], kind: string) => objs.find((o) => o.kind === kind) as Any | undefined;
const podSpec = (objs: readonly K8sObject[]) => (byKind(objs, 'Deployment') ?? byKind(objs, 'Rollout'))!.spec.template.spec as Any;
const sidecar = (objs: readonly K8sObject[]) => {
  const p = podSpec(objs);
  return [...(p.initContainers ?? []), ...p.containers].find((c: Any) => c.name === 'modelpin') as Any;
};

describe('render', () => {
  it('emits ServiceAccount, Service, Deployment for one replica; adds a PDB above one', () => {
    expect(render(spec(), ctx).objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'Deployment']);
    const objs = render(spec({ replicas: 3 }), ctx).objects;
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'Deployment']);
    expect((byKind(objs, 'PodDisruptionBudget') as Any).spec.maxUnavailable).toBe(1);
  });

  it('passes the pin to the sidecar per the serve contract, with optional flags only when set', () => {
    expect(sidecar(render(spec(), ctx).objects).args).toEqual(['serve', '--uri', 's3://models/fraud/model.onnx', '--digest', DIGEST, '--name', 'fraud', '--port', '8080', '--grpc-port', '8081']);
    const full = spec({
      model: {
        uri: 's3://models/fraud/model.tar.gz',
        digest: DIGEST,
        format: 'tar',
        entry: 'm/model.onnx',
        size: 1000,
        credentials: { secretName: 's3' },
        signature: { uri: 's3://models/fraud/model.tar.gz.sig', publicKey: { secretName: 'keys', key: 'k.pub' } },
      },
      serving: { image: IMAGE, port: 9000, grpcPort: 0, startupTimeoutSeconds: 60, batching: { maxBatchSize: 8, maxDelayMs: 3 }, threads: { intraOp: 2, interOp: 1 } },
    });
    const objs = render(full, ctx).objects;
    const c = sidecar(objs);
    // gRPC off: no grpc port on the container or the Service.
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9000, protocol: 'TCP' }]);
    expect((objs.find((o) => o.kind === 'Service') as unknown as { spec: { ports: unknown[] } }).spec.ports).toEqual([{ name: 'http', port: 9000, targetPort: 'http', protocol: 'TCP' }]);
    expect(c.args).toEqual([
      'serve', '--uri', 's3://models/fraud/model.tar.gz', '--digest', DIGEST, '--name', 'fraud', '--port', '9000', '--grpc-port', '0',
      '--format', 'tar', '--entry', 'm/model.onnx', '--size', '1000', '--max-batch-size', '8', '--max-batch-delay-ms', '3',
      '--threads', '2', '--inter-op-threads', '1', '--credentials-dir', '/var/run/secrets/modelpin/credentials',
      '--signature-uri', 's3://models/fraud/model.tar.gz.sig', '--public-key', '/var/run/secrets/modelpin/signing/k.pub',
    ]);
    expect(c.volumeMounts).toContainEqual({ name: 'model-credentials', mountPath: '/var/run/secrets/modelpin/credentials', readOnly: true });
    expect(c.volumeMounts).toContainEqual({ name: 'model-signing-key', mountPath: '/var/run/secrets/modelpin/signing', readOnly: true });
  });

  it('serves gRPC on its own port: the container and the Service name it grpc, with appProtocol grpc on the Service', () => {
    const objs = render(spec(), ctx).objects;
    const c = sidecar(objs);
    expect(c.args.slice(c.args.indexOf('--port'), c.args.indexOf('--port') + 4)).toEqual(['--port', '8080', '--grpc-port', '8081']);
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'grpc', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect((objs.find((o) => o.kind === 'Service') as unknown as { spec: { ports: unknown[] } }).spec.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
      { name: 'grpc', port: 8081, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
    ]);
  });

  it('hardens the sidecar and the pod', () => {
    const objs = render(spec(), ctx).objects;
    const c = sidecar(objs);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const p = podSpec(objs);
    expect(p.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(p.automountServiceAccountToken).toBe(false);
    expect(p.enableServiceLinks).toBe(false);
    expect((byKind(objs, 'ServiceAccount') as Any).automountServiceAccountToken).toBe(false);
  });

  it('gives the startup probe the whole download budget', () => {
    for (const t of [1, 60, 600, 601, 3600]) {
      const probe = sidecar(render(spec({ serving: { image: IMAGE, port: 8080, grpcPort: 8081, startupTimeoutSeconds: t } }), ctx).objects).startupProbe;
      expect(probe.failureThreshold * probe.periodSeconds).toBeGreaterThanOrEqual(t);
      expect((probe.failureThreshold - 1) * probe.periodSeconds).toBeLessThan(t);
      expect(probe.httpGet.path).toBe('/v2/health/ready');
    }
  });

  it('sizes the cache from the artifact size', () => {
    const MI = 1024 * 1024;
    expect(cacheSizeLimit({ uri: 'x', format: 'onnx' })).toBe(DEFAULT_CACHE_SIZE_LIMIT);
    expect(cacheSizeLimit({ uri: 'x', format: 'onnx', size: 1000 * MI })).toBe('1200Mi');
    expect(cacheSizeLimit({ uri: 'x', format: 'tar', size: 1000 * MI })).toBe('2000Mi');
    expect(cacheSizeLimit({ uri: 'x', format: 'onnx', size: 1000 * MI + 1 })).toBe('1201Mi');
    expect(cacheSizeLimit({ uri: 'x', format: 'onnx', size: 10 })).toBe('64Mi');
  });

  it('puts the sidecar in initContainers with restartPolicy Always from 1.29, before the app otherwise', () => {
    const withApp = spec({ app: { image: 'app@sha256:' + '22'.repeat(32), port: 3000 } });
    const at = (minor: number) => podSpec(render(withApp, { kubeVersion: { major: 1, minor } }).objects);
    expect(at(29).initContainers.map((c: Any) => [c.name, c.restartPolicy])).toEqual([['modelpin', 'Always']]);
    expect(at(29).containers.map((c: Any) => c.name)).toEqual(['app']);
    expect(at(28).initContainers).toBeUndefined();
    expect(at(28).containers.map((c: Any) => c.name)).toEqual(['modelpin', 'app']);
    expect(at(30).containers[0].env).toContainEqual({ name: 'MODELPIN_INFER_URL', value: 'http://127.0.0.1:8080/v2/models/fraud/infer' });
    // Without an app there is nothing to gate: the sidecar is the main container on every version.
    expect(podSpec(render(spec(), ctx).objects).initContainers).toBeUndefined();
  });

  it('keeps the selector stable and the pod template free of per-app and per-commit data', () => {
    const a = render(spec(), ctx).objects;
    const b = render(spec({ model: { uri: 's3://models/fraud/v2.onnx', digest: 'sha256:' + 'cd'.repeat(32), format: 'onnx' } }), {
      ...ctx,
      appName: 'other-app',
      cluster: 'prod-eu',
      namespace: 'elsewhere',
    }).objects;
    const dep = (o: readonly K8sObject[]) => byKind(o, 'Deployment') as Any;
    expect(dep(b).spec.selector).toEqual(dep(a).spec.selector);
    expect(JSON.stringify(dep(a).spec.selector)).not.toContain('sha256');
    // Only the model changed what runs in the pod; the rest of the template is the same.
    const strip = (t: Any) => JSON.parse(JSON.stringify(t).replace(/s3:\/\/models\/fraud\/[^"]+|sha256:[0-9a-f]{64}/g, 'X'));
    expect(strip(dep(b).spec.template)).toEqual(strip(dep(a).spec.template));
    expect(dep(a).spec.template.metadata.annotations['modelpin.dev/model-digest']).toBe(DIGEST);
    expect(dep(b).metadata.labels['app.kubernetes.io/part-of']).toBe('other-app');
  });

  it('passes the MLflow tracking server to the sidecar unless the user set one', () => {
    const gates = { mlflow: { trackingUri: 'https://mlflow.example.com', metrics: {} } };
    const mlflow = (env?: { name: string; value: string }[]) =>
      spec({ model: { uri: 'models:/fraud/3', digest: DIGEST, format: 'onnx' }, serving: { image: IMAGE, port: 8080, grpcPort: 8081, startupTimeoutSeconds: 600, ...(env ? { env } : {}) }, gates });
    expect(sidecar(render(mlflow(), ctx).objects).env).toEqual([{ name: 'MLFLOW_TRACKING_URI', value: 'https://mlflow.example.com' }]);
    expect(sidecar(render(mlflow([{ name: 'MLFLOW_TRACKING_URI', value: 'http://mine' }]), ctx).objects).env).toEqual([{ name: 'MLFLOW_TRACKING_URI', value: 'http://mine' }]);
    expect(sidecar(render(spec({ gates }), ctx).objects).env).toBeUndefined(); // s3 URI: not needed
  });

  it('canary: AnalysisTemplate + Rollout instead of a Deployment (details in canary.test.ts)', () => {
    const s = spec({
      replicas: 4,
      rollout: {
        canary: {
          steps: [{ weight: 10, pause: '5m' }, { weight: 50 }],
          analysis: { prometheus: { address: 'http://prom:9090', scrapeInterval: '30s' }, maxErrorRate: 0.01, maxP99LatencyMs: 250, minRequests: 0, interval: '30s', failureLimit: 3 },
        },
      },
    });
    const objs = render(s, ctx).objects;
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'AnalysisTemplate', 'Rollout']);
    for (const o of objs) validateObject(o as Record<string, unknown>);
    // Without analysis: a Rollout alone.
    const plain = render(spec({ rollout: { canary: { steps: [{ weight: 50, pause: '1m' }] } } }), ctx).objects;
    expect(plain.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'Rollout']);
    expect((byKind(plain, 'Rollout') as Any).spec.strategy.canary.analysis).toBeUndefined();
  });

  it('warns about images not pinned by digest', () => {
    const w = render(spec({ serving: { image: 'ghcr.io/x/y:1', port: 8080, grpcPort: 8081, startupTimeoutSeconds: 600 }, app: { image: 'app:latest' } }), ctx).warnings;
    expect(w.map((p) => [p.code, p.path])).toEqual([
      ['MODELPIN_E_IMAGE_UNPINNED', 'spec.serving.image'],
      ['MODELPIN_E_IMAGE_UNPINNED', 'spec.app.image'],
    ]);
    expect(render(spec(), ctx).warnings).toEqual([]);
  });

  it('refuses an unpinned spec', () => {
    const s = spec({ model: { uri: 's3://models/x.onnx', format: 'onnx' } });
    expect(() => render(s, ctx)).toThrow(ModelpinError);
  });

  it('marks render-time resolution on the workload only', () => {
    const d = byKind(render(spec(), { ...ctx, resolvedAtRender: true }).objects, 'Deployment') as Any;
    expect(d.metadata.annotations['modelpin.dev/resolved-at-render']).toBe('true');
    expect(d.spec.template.metadata.annotations['modelpin.dev/resolved-at-render']).toBeUndefined();
  });
});

describe('serialize', () => {
  it('refuses to print nothing', () => {
    expect(() => toYamlStream([])).toThrow(expect.objectContaining({ code: 'MODELPIN_E_RENDER_EMPTY' }));
    expect(() => toJsonList([])).toThrow(expect.objectContaining({ code: 'MODELPIN_E_RENDER_EMPTY' }));
  });

  it('quotes strings a YAML 1.1 reader would turn into booleans, numbers or sexagesimals', () => {
    const tricky = ['yes', 'no', 'on', 'off', 'y', 'n', 'true', '0755', '1:30', '1e3', '0x1f', '~', 'null', '8080', '.inf'];
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: Object.fromEntries(tricky.map((t, i) => [`k${i}`, t])) };
    const out = toYamlStream([obj]);
    // Read back with the YAML 1.1 schema (what sigs.k8s.io/yaml does): every value stays a string.
    const back = parseAllDocuments(out, { version: '1.1' })[0]!.toJS() as { data: Record<string, unknown> };
    expect(Object.values(back.data)).toEqual(tricky);
  });

  it('is a stream of documents, each starting with ---', () => {
    const objs = render(spec(), ctx).objects;
    const out = toYamlStream(objs);
    expect(out.startsWith('---\napiVersion: v1\nkind: ServiceAccount\n')).toBe(true);
    expect(out.match(/^---$/gm)!.length).toBe(objs.length);
    expect(parseAllDocuments(out).map((d) => d.toJS())).toEqual(JSON.parse(JSON.stringify(objs)));
  });
});

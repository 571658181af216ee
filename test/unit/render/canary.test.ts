// The canary's Rollout strategy, AnalysisTemplate and PodMonitor as render() builds them. What the
// queries measure and how Argo Rollouts judges them is proven against a real Prometheus and Argo
// Rollouts' own evaluation code in test/integration/canary-analysis.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { render, type K8sObject, type RenderContext } from '../../../src/render/render.js';
import type { CanaryAnalysis, ModelDeployment } from '../../../src/spec/types.js';
import { validateObject } from './k8s-validate.js';

const DIGEST = 'sha256:' + 'ab'.repeat(32);
const IMAGE = 'ghcr.io/modelpin/modelpin-sidecar:0.1.0@sha256:' + '11'.repeat(32);
const POD_MONITOR_API = 'monitoring.coreos.com/v1/PodMonitor';
const withApi: RenderContext = { kubeVersion: { major: 1, minor: 30 }, namespace: 'fraud', apiVersions: ['v1', 'apps/v1', 'monitoring.coreos.com/v1', POD_MONITOR_API] };
const withoutApi: RenderContext = { kubeVersion: { major: 1, minor: 30 }, namespace: 'fraud', apiVersions: ['v1', 'apps/v1', 'monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/ServiceMonitor'] };
const unknownApis: RenderContext = { kubeVersion: { major: 1, minor: 30 } };

function analysis(over: Partial<CanaryAnalysis> = {}, prometheus: Partial<CanaryAnalysis['prometheus']> = {}): CanaryAnalysis {
  return {
    prometheus: { address: 'http://prom:9090', scrapeInterval: '30s', ...prometheus },
    maxErrorRate: 0.01,
    maxP99LatencyMs: 250,
    minRequests: 0,
    ...over,
  };
}

function spec(a: CanaryAnalysis | null = analysis()): ModelDeployment {
  return {
    apiVersion: 'modelpin.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'fraud', labels: { team: 'risk' } },
    spec: {
      model: { uri: 's3://models/fraud/model.onnx', digest: DIGEST, format: 'onnx' },
      serving: { image: IMAGE, port: 8080, grpcPort: 8081, startupTimeoutSeconds: 600 },
      replicas: 4,
      rollout: { canary: { steps: [{ weight: 10, pause: '5m' }, { weight: 50 }], ...(a ? { analysis: a } : {}) } },
    },
  };
}

type Any = Record<string, any>;
const byKind = (objs: readonly K8sObject[], kind: string) => objs.find((o) => o.kind === kind) as Any | undefined;
const kinds = (objs: readonly K8sObject[]) => objs.map((o) => o.kind);
const metrics = (objs: readonly K8sObject[]) => byKind(objs, 'AnalysisTemplate')!.spec.metrics as Any[];

describe('canary strategy', () => {
  it('sets weights and pauses, and starts the background analysis once the first weight is available', () => {
    const objs = render(spec(), unknownApis).objects;
    const canary = byKind(objs, 'Rollout')!.spec.strategy.canary;
    expect(canary.steps).toEqual([{ setWeight: 10 }, { pause: { duration: '5m' } }, { setWeight: 50 }, { pause: {} }]);
    expect(canary.analysis).toEqual({
      templates: [{ templateName: 'fraud-canary' }],
      args: [
        { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
        { name: 'namespace', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ],
      // Step 1 is the first pause, entered only once step 0's canary pods are available.
      startingStep: 1,
    });
    const plain = render(spec(null), withApi).objects;
    expect(kinds(plain)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'Rollout']);
    expect(byKind(plain, 'Rollout')!.spec.strategy.canary.analysis).toBeUndefined();
  });
});

describe('AnalysisTemplate', () => {
  it('asserts the canary is scraped first, then error rate and p99, each name carrying its threshold', () => {
    const [scraped, err, lat] = metrics(render(spec(analysis({ maxErrorRate: 0.005, maxP99LatencyMs: 120 })), unknownApis).objects);
    expect([scraped!.name, err!.name, lat!.name]).toEqual(['canary-scraped-by-prometheus', 'error-rate-max-0.005', 'p99-latency-max-120ms']);
  });

  it('passes the thresholds as args, so the AnalysisRun shows them and the conditions name them', () => {
    const at = byKind(render(spec(analysis({ maxErrorRate: 0.005, maxP99LatencyMs: 120, minRequests: 50 })), unknownApis).objects, 'AnalysisTemplate')!;
    expect(at.spec.args).toEqual([
      { name: 'canary-hash' },
      { name: 'namespace' },
      { name: 'max-error-rate', value: '0.005' },
      { name: 'max-p99-latency-ms', value: '120' },
      { name: 'min-requests', value: '50' },
    ]);
    const [, err, lat] = at.spec.metrics as Any[];
    expect(err!.successCondition).toBe('len(result) == 1 && isNaN(result[0]) || len(result) == 1 && result[0] <= {{args.max-error-rate}}');
    expect(err!.failureCondition).toBe('len(result) == 1 && result[0] > {{args.max-error-rate}}');
    expect(lat!.successCondition).toBe('len(result) == 1 && isNaN(result[0]) || len(result) == 1 && result[0] <= {{args.max-p99-latency-ms}}');
    expect(lat!.failureCondition).toBe('len(result) == 1 && result[0] > {{args.max-p99-latency-ms}}');
  });

  it('writes each threshold as "result[0] <op> <arg>" between && and ||, the form the Rollouts dashboard charts', () => {
    for (const m of metrics(render(spec(), unknownApis).objects)) {
      for (const cond of [m.successCondition, m.failureCondition].filter((c) => c !== undefined) as string[]) {
        const parts = cond.split(/ && | \|\| /).map((p) => p.split(' '));
        expect(parts.some((p) => p.length === 3 && p[0] === 'result[0]' && /^[<>]=?$/.test(p[1]!)), cond).toBe(true);
      }
    }
  });

  it('never counts an empty result as success: the scrape metric fails on 0 pods, the others have no success for it', () => {
    const [scraped, err, lat] = metrics(render(spec(), unknownApis).objects);
    // `or vector(0)`: no canary pod seen is the value 0, which the condition fails.
    expect(scraped!.provider.prometheus.query).toBe(
      'count(max_over_time(modelpin_model_ready{namespace="{{args.namespace}}",rollouts_pod_template_hash="{{args.canary-hash}}"}[2m]) == 1)\nor vector(0)\n',
    );
    expect(scraped!.successCondition).toBe('len(result) == 1 && result[0] >= 1');
    expect(scraped!.failureCondition).toBeUndefined(); // not success = failure
    for (const m of [err!, lat!]) {
      expect(m.successCondition).toMatch(/^len\(result\) == 1 && /);
      expect(m.successCondition).not.toMatch(/len\(result\) == 0/);
    }
  });

  it('gates error rate and p99 on min-requests in the same window', () => {
    const [, err, lat] = metrics(render(spec(), unknownApis).objects);
    const sel = 'namespace="{{args.namespace}}",rollouts_pod_template_hash="{{args.canary-hash}}",model="fraud"';
    const gate = `and on() sum(increase(modelpin_infer_requests_total{${sel}}[2m])) >= {{args.min-requests}}\n`;
    expect(err!.provider.prometheus.query).toBe(
      `(\n  sum(rate(modelpin_infer_requests_total{${sel},outcome="failure"}[2m]))\n  /\n  sum(rate(modelpin_infer_requests_total{${sel}}[2m]))\n)\n${gate}`,
    );
    expect(lat!.provider.prometheus.query).toBe(
      `1000 * histogram_quantile(0.99,\n  sum by (le) (rate(modelpin_infer_request_duration_seconds_bucket{${sel}}[2m])))\n${gate}`,
    );
  });

  it('derives the rate window (4 scrapes) and initial delay (3 scrapes) from the scrape interval', () => {
    const ms = metrics(render(spec(analysis({ interval: '45s', failureLimit: 3 }, { scrapeInterval: '15s' })), unknownApis).objects);
    for (const m of ms) {
      expect([m.initialDelay, m.interval, m.failureLimit]).toEqual(['45s', '45s', 3]);
      expect(m.provider.prometheus.query).toContain('[1m])');
      expect(m.provider.prometheus.query).not.toContain('[2m]');
    }
    // One more inconclusive measurement than failures, so that an unscraped canary fails the scrape
    // metric before error rate and p99 can end the run as Inconclusive.
    expect(ms.map((m) => m.inconclusiveLimit)).toEqual([undefined, 4, 4]);
    const defaults = metrics(render(spec(analysis({}, { scrapeInterval: '1m' })), unknownApis).objects);
    expect(defaults.map((m) => [m.initialDelay, m.interval, m.failureLimit])).toEqual(Array(3).fill(['3m', '1m', 1]));
    expect(defaults[1]!.provider.prometheus.query).toContain('[4m])');
  });

  it('writes thresholds as plain decimals, never with an exponent', () => {
    const at = byKind(render(spec(analysis({ maxErrorRate: 1e-7, maxP99LatencyMs: 0.5 })), unknownApis).objects, 'AnalysisTemplate')!;
    expect(at.spec.metrics.map((m: Any) => m.name)).toEqual(['canary-scraped-by-prometheus', 'error-rate-max-0.0000001', 'p99-latency-max-0.5ms']);
    expect(at.spec.args[2]).toEqual({ name: 'max-error-rate', value: '0.0000001' });
  });
});

describe('PodMonitor', () => {
  it('is rendered when the cluster serves the PodMonitor kind, before the AnalysisTemplate', () => {
    const objs = render(spec(), withApi).objects;
    expect(kinds(objs)).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'PodMonitor', 'AnalysisTemplate', 'Rollout']);
    expect(byKind(objs, 'PodMonitor')).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: {
        name: 'fraud',
        namespace: 'fraud',
        labels: {
          'app.kubernetes.io/component': 'model-server',
          'app.kubernetes.io/instance': 'fraud',
          'app.kubernetes.io/managed-by': 'modelpin',
          'app.kubernetes.io/name': 'fraud',
          'app.kubernetes.io/part-of': 'fraud',
          team: 'risk',
        },
      },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': 'fraud', 'app.kubernetes.io/instance': 'fraud' } },
        podTargetLabels: ['rollouts-pod-template-hash'],
        podMetricsEndpoints: [{ port: 'http', path: '/metrics', interval: '30s' }],
      },
    });
    for (const o of objs) validateObject(o as Record<string, unknown>);
  });

  it('scrapes the port the sidecar container names, in both sidecar layouts', () => {
    for (const minor of [28, 30]) {
      const s = spec();
      const withApp = { ...s, spec: { ...s.spec, app: { image: IMAGE, port: 9000 } } };
      const objs = render(withApp, { ...withApi, kubeVersion: { major: 1, minor } }).objects;
      const pod = byKind(objs, 'Rollout')!.spec.template.spec;
      const sidecar = [...(pod.initContainers ?? []), ...pod.containers].find((c: Any) => c.name === 'modelpin');
      const port = byKind(objs, 'PodMonitor')!.spec.podMetricsEndpoints[0].port;
      // The metrics live on the HTTP port; the gRPC port beside it is not scraped.
      expect(sidecar.ports).toEqual([
        { name: port, containerPort: 8080, protocol: 'TCP' },
        { name: 'grpc', containerPort: 8081, protocol: 'TCP' },
      ]);
      // The app's own port must not be picked up as a second target.
      expect(pod.containers.concat(pod.initContainers ?? []).flatMap((c: Any) => c.ports ?? []).filter((p: Any) => p.name === port)).toHaveLength(1);
    }
  });

  it('is not rendered without the kind (a bare group/version is not enough) or when the APIs are unknown', () => {
    expect(kinds(render(spec(), withoutApi).objects)).not.toContain('PodMonitor');
    expect(kinds(render(spec(), unknownApis).objects)).not.toContain('PodMonitor');
  });

  it('follows spec.…prometheus.podMonitor over the cluster', () => {
    expect(kinds(render(spec(analysis({}, { podMonitor: true })), unknownApis).objects)).toContain('PodMonitor');
    expect(kinds(render(spec(analysis({}, { podMonitor: true })), withoutApi).objects)).toContain('PodMonitor');
    expect(kinds(render(spec(analysis({}, { podMonitor: false })), withApi).objects)).not.toContain('PodMonitor');
  });

  it('warns when the spec asks for one on a cluster known not to serve the kind', () => {
    const forced = spec(analysis({}, { podMonitor: true }));
    expect(render(forced, withoutApi).warnings.map((w) => [w.code, w.path])).toEqual([['MODELPIN_E_SPEC_INVALID', 'spec.rollout.canary.analysis.prometheus.podMonitor']]);
    expect(render(forced, withoutApi).warnings[0]!.message).toContain('does not serve monitoring.coreos.com/v1/PodMonitor');
    expect(render(forced, withApi).warnings).toEqual([]);
    expect(render(forced, unknownApis).warnings).toEqual([]); // a local render: nothing known
    expect(render(spec(), withoutApi).warnings).toEqual([]);
  });

  it('carries podMonitorLabels for the Prometheus podMonitorSelector; the standard labels win a clash', () => {
    const a = analysis({}, { podMonitorLabels: { release: 'kube-prometheus-stack', 'app.kubernetes.io/name': 'other' }, scrapeInterval: '15s' });
    const pm = byKind(render(spec(a), withApi).objects, 'PodMonitor')!;
    expect(pm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(pm.metadata.labels['app.kubernetes.io/name']).toBe('fraud');
    expect(Object.keys(pm.metadata.labels)).toEqual([...Object.keys(pm.metadata.labels)].sort());
    expect(pm.spec.podMetricsEndpoints[0].interval).toBe('15s');
  });

  it('keeps the prometheus.io annotations for annotation-based scrape configs', () => {
    for (const c of [withApi, withoutApi]) {
      const ann = byKind(render(spec(), c).objects, 'Rollout')!.spec.template.metadata.annotations;
      expect(ann).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
    }
  });
});

describe('modelpin render --api-versions', () => {
  const cli = fileURLToPath(new URL('../../../dist/modelpin.js', import.meta.url));
  const golden = fileURLToPath(new URL('../../golden/canary-analysis', import.meta.url));
  const kindsOf = (args: string[], env: Record<string, string> = {}) => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
    const r = spawnSync(process.execPath, [cli, 'render', golden, '-o', 'json', ...args], { encoding: 'utf8', env: { ...process.env, KUBE_API_VERSIONS: '', ...env } });
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { items: K8sObject[] }).items.map((o) => o.kind);
  };

  it('takes comma lists and repeats, on the fast path and through yargs (--no-strict)', () => {
    expect(kindsOf([])).not.toContain('PodMonitor');
    expect(kindsOf(['--api-versions', 'v1,monitoring.coreos.com/v1/PodMonitor'])).toContain('PodMonitor');
    expect(kindsOf(['--api-versions', 'v1', '--api-versions', 'monitoring.coreos.com/v1/PodMonitor'])).toContain('PodMonitor');
    expect(kindsOf(['--no-strict', '--api-versions', 'v1,monitoring.coreos.com/v1/PodMonitor'])).toContain('PodMonitor');
    expect(kindsOf(['--api-versions', 'monitoring.coreos.com/v1'])).not.toContain('PodMonitor');
  });

  it("loses to Argo CD's KUBE_API_VERSIONS, as --kube-version loses to KUBE_VERSION", () => {
    expect(kindsOf(['--api-versions', POD_MONITOR_API], { KUBE_API_VERSIONS: 'v1,apps/v1' })).not.toContain('PodMonitor');
    expect(kindsOf([], { KUBE_API_VERSIONS: `v1,${POD_MONITOR_API}` })).toContain('PodMonitor');
  });
});

// The automatic-rollback example (plugin/examples/rollback/) must be a loop that can work: the
// WorkflowTemplate valid against the Argo Workflows models, the RBAC against Kubernetes', the
// sensor's dependency wired to the event source and its trigger to the template's parameters,
// the Rollout label switch and the pod annotation it reads being what modelpin renders, and the
// script calling `modelpin rollback` with flags the CLI defines. (Strict validation of the
// EventSource and Sensor against Argo Events' models: test/integration/argo-examples.test.ts.)
import { readFileSync } from 'node:fs';
import { WorkflowTemplate } from '@kubernetes-models/argo-workflows/argoproj.io/v1alpha1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const load = (f: string) => parseAllDocuments(readFileSync(new URL(`../../../plugin/examples/rollback/${f}`, import.meta.url), 'utf8')).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
});
const wf = load('workflow-template.yaml')[0]!;
const sensor = load('sensor.yaml')[0]!;
const es = load('event-source.yaml')[0]!;
const rbac = load('rbac.yaml');

describe('plugin/examples/rollback', () => {
  it('the WorkflowTemplate and the RBAC validate against their schemas', () => {
    new WorkflowTemplate(wf as never).validate();
    const models: Record<string, new (d: never) => { validate(): void }> = { ServiceAccount, Role, RoleBinding };
    for (const o of rbac) new models[o.kind]!(o as never).validate();
    expect(rbac.map((o) => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'ServiceAccount', 'Role', 'RoleBinding', 'ServiceAccount']);
  });

  it('wires event source → sensor → workflow template', () => {
    const dep = sensor.spec.dependencies[0];
    expect(dep.eventSourceName).toBe(es.metadata.name);
    expect(Object.keys(es.spec.resource)).toContain(dep.eventName);
    expect(es.spec.resource[dep.eventName]).toMatchObject({ group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', eventTypes: ['UPDATE'] });
    // The switch is a label modelpin copies from spec metadata.labels onto the Rollout.
    expect(es.spec.resource[dep.eventName].filter.labels).toEqual([{ key: 'modelpin.dev/auto-rollback', operation: '==', value: 'true' }]);
    expect(dep.filters.data).toContainEqual({ path: 'body.status.abort', type: 'bool', value: ['true'] });
    const trig = sensor.spec.triggers[0].template.argoWorkflow;
    expect(trig.source.resource.spec.workflowTemplateRef.name).toBe(wf.metadata.name);
    const args = trig.source.resource.spec.arguments.parameters as { name: string }[];
    const declared = (wf.spec.arguments.parameters as { name: string; value?: string }[]).map((p) => p.name);
    for (const a of args) expect(declared).toContain(a.name);
    for (const p of trig.parameters as { src: { dependencyName: string; dataKey?: string }; dest: string }[]) {
      expect(p.src.dependencyName).toBe(dep.name);
      const i = Number(/^spec\.arguments\.parameters\.(\d+)\.value$/.exec(p.dest)?.[1]);
      expect(args[i]?.name).toMatch(/^(digest|reason)$/);
      if (args[i]?.name === 'digest') expect(p.src.dataKey).toBe('body.spec.template.metadata.annotations.modelpin\\.dev/model-digest');
    }
    // Required template parameters without defaults are all supplied by the sensor.
    for (const p of wf.spec.arguments.parameters as { name: string; value?: string }[]) if (p.value === undefined) expect(args.map((a) => a.name)).toContain(p.name);
  });

  it('the pod annotation the sensor reads is the one modelpin renders', async () => {
    const { renderText } = await import('../../../src/render/pipeline.js');
    const text = readFileSync(new URL('../../../plugin/examples/fraud-detector/modelpin.yaml', import.meta.url), 'utf8');
    // The switch as a user turns it on: a label in the spec's metadata (prod-eu has the canary).
    const on = text.replace('  labels:\n    team: risk\n', '  labels:\n    team: risk\n    modelpin.dev/auto-rollback: "true"\n');
    expect(on).not.toBe(text);
    const out = await renderText(on, { file: 'x', kubeVersion: { major: 1, minor: 30 }, cluster: 'prod-eu', format: 'json' });
    const rollout = (JSON.parse(out.output) as { items: Record<string, any>[] }).items.find((o) => o.kind === 'Rollout'); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(rollout?.metadata.labels['modelpin.dev/auto-rollback']).toBe('true');
    expect(rollout?.spec.template.metadata.annotations['modelpin.dev/model-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(rollout?.spec.template.metadata.annotations['modelpin.dev/model-digest']).toBe(/digest: (sha256:[0-9a-f]{64})/.exec(text)?.[1]);
  });

  it('runs modelpin rollback with flags the CLI defines, guarded by --from and event data only in env', async () => {
    const { rollbackCommand } = await import('../../../src/cli/commands/rollback.js');
    const builder = String((rollbackCommand as { builder: unknown }).builder);
    const c = wf.spec.templates[0].container;
    const script: string = c.args[0];
    const line = script.split('\n').find((l) => l.trim().startsWith('modelpin rollback'))!;
    expect(line).toBeDefined();
    const flags = line.split(/\s+/).filter((a) => a.startsWith('--')).map((f) => f.slice(2));
    expect(flags).toEqual(['from', 'reason', 'commit']);
    for (const f of flags) expect(builder).toMatch(new RegExp(`['"]${f}['"]`));
    expect(script).not.toContain('{{'); // no template substitution into the shell text
    expect((c.env as { name: string; value: string }[]).find((e) => e.name === 'DIGEST')?.value).toBe('{{workflow.parameters.digest}}');
  });
});

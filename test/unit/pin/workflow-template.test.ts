// The Argo Workflows example must stay a valid train → publish → lock → commit pipeline whose
// modelpin invocations use flags the CLI really has.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const text = readFileSync(new URL('../../../plugin/examples/workflow-template.yaml', import.meta.url), 'utf8');

interface Template {
  name: string;
  steps?: { name: string; template: string }[][];
  container?: { image: string; args?: string[] };
}

describe('plugin/examples/workflow-template.yaml', () => {
  const doc = parseDocument(text);
  const wf = doc.toJS() as { apiVersion: string; kind: string; spec: { entrypoint: string; templates: Template[] } };

  it('is a WorkflowTemplate running train → publish → lock → commit', () => {
    expect(doc.errors).toEqual([]);
    expect(wf.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(wf.kind).toBe('WorkflowTemplate');
    const entry = wf.spec.templates.find((t) => t.name === wf.spec.entrypoint);
    expect(entry?.steps?.map((s) => s[0]?.template)).toEqual(['checkout', 'train', 'publish', 'lock', 'commit']);
  });

  it('calls modelpin with commands and flags the CLI defines', async () => {
    const { publishCommand } = await import('../../../src/cli/commands/publish.js');
    const { lockCommand } = await import('../../../src/cli/commands/lock.js');
    const src = (m: unknown) => String((m as { builder: unknown }).builder);
    for (const name of ['publish', 'lock']) {
      const t = wf.spec.templates.find((x) => x.name === name);
      const args = t?.container?.args ?? [];
      expect(args[0]).toBe(name);
      const builder = src(name === 'publish' ? publishCommand : lockCommand);
      for (const flag of args.filter((a) => a.startsWith('--'))) expect(builder).toMatch(new RegExp(`["']${flag.slice(2)}["']`));
    }
  });
});

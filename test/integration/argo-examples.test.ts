// The Argo examples against the projects' own API models, strictly: Argo Events' EventSource and
// Sensor and Argo Workflows' WorkflowTemplates, through hera's models (generated from both
// projects' OpenAPI specifications) with unknown fields forbidden (test/tools/validate_argo.py).
// Python: MODELPIN_ARGO_PYTHON, else ~/.cache/modelpin/venv-argo/bin/python (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const PY = process.env.MODELPIN_ARGO_PYTHON ?? join(homedir(), '.cache/modelpin/venv-argo/bin/python');
const EXAMPLES = ['plugin/examples/rollback/event-source.yaml', 'plugin/examples/rollback/sensor.yaml', 'plugin/examples/rollback/workflow-template.yaml', 'plugin/examples/workflow-template.yaml'];

function validate(files: string[]): { file: string; kind: string; ok: boolean; errors: string[] }[] {
  if (!existsSync(PY)) throw new Error(`${PY} is missing: set MODELPIN_ARGO_PYTHON or run \`bash .ci/run\` (it installs hera into ~/.cache/modelpin/venv-argo)`);
  const r = spawnSync(PY, [join(ROOT, 'test/tools/validate_argo.py'), ...files], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; kind: string; ok: boolean; errors: string[] });
}

describe('Argo examples against Argo Events / Argo Workflows models', () => {
  it('every example document is valid, unknown fields included', () => {
    const out = validate(EXAMPLES);
    expect(out.map((o) => [o.file, o.kind])).toEqual([
      [EXAMPLES[0], 'EventSource'],
      [EXAMPLES[1], 'Sensor'],
      [EXAMPLES[2], 'WorkflowTemplate'],
      [EXAMPLES[3], 'WorkflowTemplate'],
    ]);
    for (const o of out) expect(o.errors, o.file).toEqual([]);
  });

  it('the validator catches a misspelt field and a wrong type (it is not a rubber stamp)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelpin-argo-'));
    try {
      const sensor = readFileSync(join(ROOT, EXAMPLES[1]!), 'utf8');
      writeFileSync(join(dir, 'typo.yaml'), sensor.replace('dataKey:', 'dataKeys:'));
      writeFileSync(join(dir, 'type.yaml'), sensor.replace('steps: 3', 'steps: [3]'));
      const wf = readFileSync(join(ROOT, EXAMPLES[2]!), 'utf8');
      writeFileSync(join(dir, 'wf.yaml'), wf.replace('retryStrategy:', 'retryStrategie:'));
      writeFileSync(join(dir, 'embedded.yaml'), sensor.replace('workflowTemplateRef:', 'workflowTemplateReff:'));
      const out = validate([join(dir, 'typo.yaml'), join(dir, 'type.yaml'), join(dir, 'wf.yaml'), join(dir, 'embedded.yaml')]);
      expect(out.map((o) => o.ok)).toEqual([false, false, false, false]);
      expect(out[0]?.errors[0]).toContain('dataKeys');
      expect(out[2]?.errors[0]).toContain('retryStrategie');
      expect(out[3]?.errors[0]).toContain('workflowTemplateReff');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The README's first quick-start command: render the example for the "local" cluster, serve it
// with the rendered sidecar arguments, print one V2 inference response.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('quick start (npm run example)', () => {
  it('renders the example, serves the bundled model from file://, prints one V2 response', () => {
    const r = spawnSync(process.execPath, [join(root, 'plugin/examples/quickstart.mjs')], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('sidecar args: serve --uri file://');
    const answer = JSON.parse(r.stdout) as { model_name: string; id: string; outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }> };
    expect(answer.model_name).toBe('fraud-detector');
    expect(answer.id).toBe('quickstart-1');
    expect(answer.outputs).toHaveLength(1);
    expect(answer.outputs[0]).toMatchObject({ name: 'logits', datatype: 'FP32', shape: [1, 10] });
    expect(answer.outputs[0]!.data.every((x) => Number.isFinite(x))).toBe(true);
  });
});

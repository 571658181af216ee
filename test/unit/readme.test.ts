// The README is the front door; these checks keep the parts that name code true to the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_FLAGS } from '../../sidecar/config.js';
import { CATALOG } from '../../src/errors.js';
import { render } from '../../src/render/render.js';
import { parseSpec } from '../../src/spec/parse.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}`);
  expect(start, `README has a "## ${heading}" section`).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README', () => {
  it('names the Node version package.json engines allows', () => {
    const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node;
    const min = /^>=(\d+\.\d+)$/.exec(engines)?.[1];
    expect(min, `engines.node "${engines}" is a plain lower bound`).toBeDefined();
    const stated = /run from a fresh clone on Node (\d+(?:\.\d+)?) or newer/.exec(section('Quick start'))?.[1];
    expect(stated).toBe(min);
  });

  it('documents every error code in the catalog, and no code that does not exist', () => {
    const table = section('Error codes');
    const documented = [...table.matchAll(/^\| `(MODELPIN_E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(CATALOG).sort());
  });

  it("the spec example is a valid spec, and renders", () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section('The spec'))?.[1];
    expect(yaml).toBeDefined();
    const { spec, warnings } = parseSpec(yaml!, { file: 'README.md' });
    expect(warnings).toEqual([]);
    const objects = render(spec, { kubeVersion: { major: 1, minor: 30 } }).objects.map((o) => (o as { kind: string }).kind);
    expect(objects).toEqual(['ServiceAccount', 'Service', 'PodDisruptionBudget', 'AnalysisTemplate', 'Rollout']);
  });

  it('lists exactly the metric names the canary analysis queries, and more', () => {
    const table = section('The sidecar: serve');
    const documented = new Set([...table.matchAll(/^\| `(modelpin_[a-z_]+)` \|/gm)].map((m) => m[1]));
    const { spec } = parseSpec(/```yaml\n([\s\S]*?)```/.exec(section('The spec'))![1]!, { file: 'README.md' });
    const queried = JSON.stringify(render(spec, { kubeVersion: { major: 1, minor: 30 } }).objects).match(/modelpin_[a-z_]+/g) ?? [];
    expect(queried.length).toBeGreaterThan(0);
    for (const name of queried) expect(documented).toContain(name.replace(/_bucket$/, ''));
  });

  it('lists every serve flag in the sidecar configuration table, and no flag that does not exist', () => {
    const table = section('The sidecar: fetch and verify');
    const rows = [...table.matchAll(/^\| (`--[^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`--([a-z-]+)`/g)].map((x) => x[1]!));
    expect(rows.sort()).toEqual(SERVE_FLAGS.map((f) => f.name).sort());
  });
});

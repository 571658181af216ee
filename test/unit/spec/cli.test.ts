// `modelpin validate` and `modelpin schema` as users run them: the built CLI, real processes.
// `npm test` builds dist/ first; when running this file alone, run `npm run build` before.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../../../dist/modelpin.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/specs/', import.meta.url));

function run(args: string[], cwd = root): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('modelpin validate', () => {
  it('valid spec: exit 0, one summary line on stderr, nothing on stdout', () => {
    const r = run(['validate', `${fixtures}valid/minimal.yaml`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^modelpin: .*minimal\.yaml: valid ModelDeployment fraud \(no cluster overlays\)\n$/);
  });

  it('defaults to modelpin.yaml in the current directory', () => {
    const r = run(['validate'], `${fixtures}valid/dir`);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('modelpin.yaml: valid ModelDeployment');
  });

  it('invalid spec: exit 1, every problem with file:line:col on stderr', () => {
    const r = run(['validate', `${fixtures}invalid/many-problems.yaml`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('many-problems.yaml:4:9 (metadata.name): MODELPIN_E_SPEC_INVALID');
    expect(r.stderr).toContain('many-problems.yaml:7:5 (spec.model.digest): MODELPIN_E_SPEC_UNPINNED');
    expect(r.stderr).toContain('fix: run `modelpin lock');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('warnings print but pass; --strict makes them fail', () => {
    const file = `${fixtures}valid/unpinned-image.yaml`;
    const lax = run(['validate', file]);
    expect(lax.status).toBe(0);
    expect(lax.stderr).toContain('modelpin: warning: ');
    expect(lax.stderr).toContain('(spec.app.image): MODELPIN_E_IMAGE_UNPINNED');
    expect(lax.stderr).toContain('2 warnings');
    const strict = run(['validate', file, '--strict']);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain('MODELPIN_E_IMAGE_UNPINNED');
    expect(strict.stderr).not.toContain('valid ModelDeployment');
  });

  it('--cluster validates the merged spec; an unknown cluster fails naming the known ones', () => {
    const file = `${fixtures}valid/full.yaml`;
    const ok = run(['validate', file, '--cluster', 'prod-eu']);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain('(cluster prod-eu, 1 warning)');
    const bad = run(['validate', file, '--cluster', 'prod-us']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('MODELPIN_E_SPEC_CLUSTER');
    expect(bad.stderr).toContain('known clusters: prod-eu, staging');
  });

  it('a missing spec: exit 1 with MODELPIN_E_SPEC_NOT_FOUND', () => {
    const r = run(['validate', `${fixtures}does-not-exist`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('MODELPIN_E_SPEC_NOT_FOUND');
  });

  it('help shows examples', () => {
    const r = run(['validate', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('--cluster prod-eu');
  });
});

describe('modelpin schema', () => {
  it('prints exactly the committed plugin/schema/modelpin.schema.json', () => {
    const r = run(['schema']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(readFileSync(`${root}plugin/schema/modelpin.schema.json`, 'utf8'));
  });
});

// The CLI as a user meets it before naming a command: the built bundle, a real process.
// `npm test` builds dist/ first; when running this file alone, run `npm run build` before.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../../dist/modelpin.js', import.meta.url));
const exampleModel = fileURLToPath(new URL('../../../plugin/examples/fraud-detector/model.onnx', import.meta.url));
const EXAMPLE_DIGEST = 'sha256:fcc98cd56907baf22ed2d6238ef832578c8cd8adbdcd2d25a697af0f2092a917';

function run(args: string[], cwd?: string) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
}

const work = mkdtempSync(join(tmpdir(), 'modelpin-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('bare `modelpin`', () => {
  it('prints the command list on stderr and exits 2 (usage)', () => {
    const r = run([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    for (const command of ['render', 'validate', 'schema', 'fetch', 'serve', 'lock', 'publish', 'history']) {
      expect(r.stderr).toMatch(new RegExp(`^  modelpin ${command}\\b`, 'm'));
    }
    expect(r.stderr).toMatch(/MODELPIN_E_USAGE: Name a command; see the list above\.\n$/);
  });

  it('an unknown command still gets a short usage error, not the whole list', () => {
    const r = run(['rendr']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/MODELPIN_E_USAGE/);
    expect(r.stderr).not.toMatch(/^  modelpin publish/m);
  });
});

describe('a relative path as the artifact URI of a local command (the README: "or a plain path")', () => {
  const dir = join(work, 'relative');
  mkdirSync(join(dir, 'models'), { recursive: true });
  copyFileSync(exampleModel, join(dir, 'models', 'fraud.onnx'));

  it.each([['models/fraud.onnx'], ['./models/fraud.onnx']])('fetch --uri %s reads the file under the working directory', (uri) => {
    const cache = join(dir, `cache-${uri.length}`);
    const r = run(['fetch', '--uri', uri, '--digest', EXAMPLE_DIGEST, '--cache-dir', cache, '--log-level', 'error'], dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${cache}/sha256/${EXAMPLE_DIGEST.slice(7)}\n`);
  });

  it('lock --uri with a relative path pins the absolute file:// URI (a spec refuses relative paths)', () => {
    const spec = join(dir, 'modelpin.yaml');
    writeFileSync(spec, 'apiVersion: modelpin.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: fraud\nspec:\n  model:\n    uri: s3://models/old.onnx\n  serving:\n    image: ghcr.io/x/y:1\n');
    const r = run(['lock', '--uri', 'models/fraud.onnx'], dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const locked = readFileSync(spec, 'utf8');
    expect(locked).toContain(`    uri: file://${dir}/models/fraud.onnx\n    digest: ${EXAMPLE_DIGEST}\n    size: 77246\n`);
    expect(locked).not.toContain('modelpin.dev/track');
    expect(run(['validate'], dir).status).toBe(0);
  });

  it('a relative path in a spec is still refused, with the reason', () => {
    const spec = join(dir, 'relative.yaml');
    writeFileSync(spec, `apiVersion: modelpin.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: fraud\nspec:\n  model:\n    uri: models/fraud.onnx\n    digest: ${EXAMPLE_DIGEST}\n  serving:\n    image: ghcr.io/x/y:1\n`);
    const r = run(['validate', spec], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('relative.yaml:7:10 (spec.model.uri): MODELPIN_E_SPEC_URI: "models/fraud.onnx" is a plain path; in a spec, local files are absolute file URIs');
  });
});

describe('render under Argo CD without a spec, through the yargs CLI (flags the fast path hands over)', () => {
  it('names the Application source path, as the fast path does', () => {
    const dir = join(work, 'no-spec');
    mkdirSync(dir);
    const r = spawnSync(process.execPath, [cli, 'render', '--no-strict'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ARGOCD_APP_SOURCE_PATH: 'apps/fraud' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'modelpin: apps/fraud: MODELPIN_E_SPEC_NOT_FOUND: the Application\'s source path "apps/fraud" has no modelpin.yaml or modelpin.yml (ARGOCD_APP_SOURCE_PATH)\n' +
        "  fix: commit modelpin.yaml to apps/fraud/ at the Application's target revision, or set the Application's spec.source.path to the directory that holds it\n",
    );
  });
});

// Golden cases: test/golden/<case>/{modelpin.yaml, params?, expected.yaml, expected-warnings.txt?}.
// `params` holds the environment argocd-cmp-server would give the plugin (KEY=value lines), so
// each case goes through the real path: Argo CD env adapter → parse → render → serialize.
// Output is compared byte for byte; regenerate only with `npm run golden:update` and review the diff.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { settingsFromArgoEnv } from '../../plugin/argocd-env.js';
import { formatError, ModelpinError } from '../../src/errors.js';
import { DEFAULT_KUBE_VERSION } from '../../src/render/kube-version.js';
import { renderText, type PipelineResult } from '../../src/render/pipeline.js';
import { validateObject } from '../unit/render/k8s-validate.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, 'modelpin.yaml')))
  .map((d) => d.name)
  .sort();

function readParams(dir: string): Record<string, string> {
  const file = join(dir, 'params');
  if (!existsSync(file)) return {};
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${file}: expected KEY=value, got "${line}"`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

async function renderCase(name: string, env: Record<string, string>): Promise<PipelineResult> {
  const dir = join(here, name);
  const s = settingsFromArgoEnv(env);
  return renderText(readFileSync(join(dir, 'modelpin.yaml'), 'utf8'), {
    file: 'modelpin.yaml',
    kubeVersion: s.kubeVersion ?? DEFAULT_KUBE_VERSION,
    ...(s.apiVersions === undefined ? {} : { apiVersions: s.apiVersions }),
    ...(s.cluster === undefined ? {} : { cluster: s.cluster }),
    ...(s.namespace === undefined ? {} : { namespace: s.namespace }),
    ...(s.appName === undefined ? {} : { appName: s.appName }),
    strict: s.strict ?? false,
  });
}

function compareOrWrite(file: string, actual: string): void {
  if (update) {
    if (actual === '') {
      if (existsSync(file)) writeFileSync(file, ''); // keep the file but empty: reviewers see warnings disappear
      return;
    }
    writeFileSync(file, actual);
    return;
  }
  const expected = existsSync(file) ? readFileSync(file, 'utf8') : '';
  expect(actual, `${file} differs; if the change is intended run \`npm run golden:update\` and review the diff`).toBe(expected);
}

describe('golden render cases', () => {
  it('has the required cases', () => {
    for (const c of ['minimal', 'app-kube-1.28', 'app-kube-1.30', 'canary-analysis', 'canary-pod-monitor', 'cluster-overlay', 'credentials-secret']) {
      expect(cases).toContain(c);
    }
  });

  for (const name of cases) {
    describe(name, () => {
      const dir = join(here, name);
      const env = readParams(dir);

      it('renders byte for byte as expected.yaml', async () => {
        const { output, warnings } = await renderCase(name, env);
        compareOrWrite(join(dir, 'expected.yaml'), output);
        const warningText = warnings.length === 0 ? '' : formatError(ModelpinError.fromProblems([...warnings])) + '\n';
        compareOrWrite(join(dir, 'expected-warnings.txt'), warningText);
      });

      it('every object validates against the Kubernetes / Argo Rollouts schemas', async () => {
        const { output } = await renderCase(name, env);
        const docs = parseAllDocuments(output).map((d) => d.toJS() as Record<string, unknown>);
        expect(docs.length).toBeGreaterThanOrEqual(3);
        for (const obj of docs) validateObject(obj);
      });

      it('is deterministic, and the git revision changes nothing', async () => {
        const a = await renderCase(name, env);
        const b = await renderCase(name, { ...env, ARGOCD_APP_REVISION: 'ffffffffffffffffffffffffffffffffffffffff', ARGOCD_APP_REVISION_SHORT: 'fffffff' });
        expect(b.output).toBe(a.output);
        expect(a.output).not.toMatch(/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567|fffffff/);
      });
    });
  }
});

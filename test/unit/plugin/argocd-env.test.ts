import { describe, expect, it } from 'vitest';
import { parseAppParameters, settingsFromArgoEnv } from '../../../plugin/argocd-env.js';
import { ModelpinError } from '../../../src/errors.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof ModelpinError ? e.code : `not a ModelpinError: ${String(e)}`;
  }
  return undefined;
}

describe('settingsFromArgoEnv', () => {
  it('reads nothing from an empty environment', () => {
    expect(settingsFromArgoEnv({})).toEqual({});
  });

  it('reads parameters, env, KUBE_VERSION and the app identity', () => {
    const s = settingsFromArgoEnv({
      ARGOCD_APP_PARAMETERS: '[{"name":"cluster","string":"prod-eu"},{"name":"strict","string":"true"}]',
      ARGOCD_ENV_RESOLVE: 'false',
      KUBE_VERSION: '1.30.11',
      ARGOCD_APP_NAME: 'team-a_fraud',
      ARGOCD_APP_NAMESPACE: 'fraud',
      ARGOCD_APP_SOURCE_PATH: 'apps/fraud',
    });
    expect(s).toEqual({ cluster: 'prod-eu', strict: true, resolve: false, kubeVersion: { major: 1, minor: 30 }, appName: 'fraud', namespace: 'fraud', sourcePath: 'apps/fraud' });
  });

  it('ARGOCD_APP_SOURCE_PATH "." and "" both name the repository root', () => {
    expect(settingsFromArgoEnv({ ARGOCD_APP_SOURCE_PATH: '.' }).sourcePath).toBe('');
    expect(settingsFromArgoEnv({ ARGOCD_APP_SOURCE_PATH: '' }).sourcePath).toBe('');
  });

  it('reads KUBE_API_VERSIONS as a list, ignoring empty entries', () => {
    expect(settingsFromArgoEnv({ KUBE_API_VERSIONS: 'v1, apps/v1,,monitoring.coreos.com/v1/PodMonitor,' }).apiVersions).toEqual([
      'v1',
      'apps/v1',
      'monitoring.coreos.com/v1/PodMonitor',
    ]);
    expect(settingsFromArgoEnv({ KUBE_API_VERSIONS: ' ' }).apiVersions).toBeUndefined();
  });

  it('parameters win over ARGOCD_ENV_*, which wins over ARGOCD_APP_NAMESPACE', () => {
    const s = settingsFromArgoEnv({
      ARGOCD_APP_PARAMETERS: '[{"name":"cluster","string":"a"}]',
      ARGOCD_ENV_cluster: 'b',
      ARGOCD_ENV_Namespace: 'from-env',
      ARGOCD_APP_NAMESPACE: 'dest',
    });
    expect(s.cluster).toBe('a');
    expect(s.namespace).toBe('from-env');
  });

  it('matches ARGOCD_ENV_ names case-insensitively and ignores unrelated ones', () => {
    expect(settingsFromArgoEnv({ ARGOCD_ENV_Cluster: 'x', ARGOCD_ENV_SOMETHING_ELSE: '1' })).toEqual({ cluster: 'x' });
    expect(code(() => settingsFromArgoEnv({ ARGOCD_ENV_cluster: 'x', ARGOCD_ENV_CLUSTER: 'y' }))).toBe('MODELPIN_E_PARAM');
  });

  it('treats empty strings as unset (the UI sends "" for a cleared field)', () => {
    expect(settingsFromArgoEnv({ ARGOCD_APP_PARAMETERS: '[{"name":"cluster","string":""}]', ARGOCD_ENV_cluster: 'b' }).cluster).toBe('b');
    expect(settingsFromArgoEnv({ KUBE_VERSION: '', ARGOCD_APP_PARAMETERS: '' })).toEqual({});
  });

  it('ignores PARAM_* and the revision variables', () => {
    expect(settingsFromArgoEnv({ PARAM_CLUSTER: 'x', ARGOCD_APP_REVISION: 'abc' })).toEqual({});
  });

  it.each([
    ['1.30.11', 30],
    ['v1.28.3', 28],
    ['1.29', 29],
    ['1.30.5-gke.1014001', 30],
    ['1.31.2+k3s1', 31],
    ['1.29+', 29],
    ['1.30.1-eks-4f4795d', 30],
  ])('parses KUBE_VERSION %s', (v, minor) => {
    expect(settingsFromArgoEnv({ KUBE_VERSION: v }).kubeVersion).toEqual({ major: 1, minor });
  });

  it.each(['banana', '1', '1.', '2.0', 'v1.x.3', '1.30.11 ; rm'])('rejects KUBE_VERSION %s', (v) => {
    expect(code(() => settingsFromArgoEnv({ KUBE_VERSION: v }))).toBe('MODELPIN_E_KUBE_VERSION');
  });

  it.each(['true', 'TRUE', '1', 'yes'])('reads %s as true', (v) => {
    expect(settingsFromArgoEnv({ ARGOCD_ENV_strict: v }).strict).toBe(true);
  });
});

describe('parseAppParameters', () => {
  it('decodes the real format (compact, alphabetical keys, \\u003c escapes)', () => {
    expect(parseAppParameters('[{"name":"cluster","string":"a\\u003cb\\u0026c"}]')).toEqual({ cluster: 'a<b&c' });
  });

  it('accepts null and empty input', () => {
    expect(parseAppParameters('null')).toEqual({});
    expect(parseAppParameters('[]')).toEqual({});
  });

  it.each([
    ['{', 'not valid JSON'],
    ['{"name":"cluster"}', 'expected a JSON array'],
    ['["cluster"]', 'not an object'],
    ['[{"string":"x"}]', 'no "name"'],
    ['[{"name":"region","string":"x"}]', 'unknown parameter "region"'],
    ['[{"array":["a"],"name":"cluster"}]', 'must be a string, not an array'],
    ['[{"map":{"a":"b"},"name":"cluster"}]', 'must be a string, not a map'],
    ['[{"name":"cluster"}]', 'no string value'],
    ['[{"name":"cluster","string":"a"},{"name":"cluster","string":"b"}]', 'given twice'],
  ])('rejects %s', (json, why) => {
    try {
      parseAppParameters(json);
      expect.unreachable();
    } catch (e) {
      expect((e as ModelpinError).code).toBe('MODELPIN_E_PARAM');
      expect((e as Error).message).toContain(why);
    }
  });
});

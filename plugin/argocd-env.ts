// The Argo CD edge of `modelpin render`: turns the environment argocd-cmp-server gives a plugin
// command into render settings. Argo CD passes everything through the environment (the generate
// command takes no arguments):
//   ARGOCD_APP_PARAMETERS  JSON array from spec.source.plugin.parameters (highest precedence)
//   ARGOCD_ENV_<Name>      spec.source.plugin.env entries, name verbatim (cluster, CLUSTER, ...)
//   KUBE_VERSION           destination cluster version, e.g. 1.30.11
//   KUBE_API_VERSIONS      APIs the destination serves, e.g. apps/v1,apps/v1/Deployment,... (decides the PodMonitor)
//   ARGOCD_APP_NAME        "<name>" or "<appns>_<name>"; ARGOCD_APP_NAMESPACE destination namespace
//   ARGOCD_APP_SOURCE_PATH the app's directory in the repository (only to name it in errors)
// PARAM_* variables are ignored on purpose: their names can collide, the JSON cannot.
// ARGOCD_APP_REVISION* are ignored on purpose: a commit must not change the output by itself.
import { ModelpinError } from '../src/errors.js';
import { parseKubeVersion } from '../src/render/kube-version.js';
import type { KubeVersion } from '../src/render/types.js';

/** Parameters the plugin understands, as announced in plugin.yaml (parameters.static). */
export const PARAMETER_NAMES = ['cluster', 'namespace', 'resolve', 'strict'] as const;
export type ParameterName = (typeof PARAMETER_NAMES)[number];

export interface RenderSettings {
  cluster?: string;
  namespace?: string;
  strict?: boolean;
  resolve?: boolean;
  kubeVersion?: KubeVersion;
  apiVersions?: string[];
  appName?: string;
  /** The Application's path in the repository (the command runs there), for error messages. */
  sourcePath?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Settings found in Argo CD's environment; absent keys were not set there (flags may fill them). */
export function settingsFromArgoEnv(env: Env): RenderSettings {
  // Empty values mean "not set" and must not hide a lower-precedence source.
  const fromEnv = nonEmpty(fromPluginEnv(env));
  const fromParams = nonEmpty(env.ARGOCD_APP_PARAMETERS === undefined ? {} : parseAppParameters(env.ARGOCD_APP_PARAMETERS));
  const merged = { ...fromEnv, ...fromParams };
  const out: RenderSettings = settingsFromStrings(merged, (name) =>
    name in fromParams ? `ARGOCD_APP_PARAMETERS parameter "${name}"` : `ARGOCD_ENV_${fromEnv[name] === undefined ? name : envNameOf(env, name)}`,
  );
  if (env.KUBE_VERSION !== undefined && env.KUBE_VERSION.trim() !== '') {
    out.kubeVersion = parseKubeVersion(env.KUBE_VERSION, 'KUBE_VERSION');
  }
  if (env.KUBE_API_VERSIONS !== undefined && env.KUBE_API_VERSIONS.trim() !== '') {
    out.apiVersions = parseApiVersions(env.KUBE_API_VERSIONS);
  }
  if (out.namespace === undefined && env.ARGOCD_APP_NAMESPACE) out.namespace = env.ARGOCD_APP_NAMESPACE;
  // "" and "." both mean the repository root.
  if (env.ARGOCD_APP_SOURCE_PATH !== undefined) out.sourcePath = env.ARGOCD_APP_SOURCE_PATH.trim() === '.' ? '' : env.ARGOCD_APP_SOURCE_PATH.trim();
  if (env.ARGOCD_APP_NAME) {
    // Apps outside Argo CD's own namespace are named "<appns>_<name>"; neither part may contain "_".
    const n = env.ARGOCD_APP_NAME;
    out.appName = n.includes('_') ? n.slice(n.indexOf('_') + 1) : n;
  }
  return out;
}

/** KUBE_API_VERSIONS or --api-versions: comma-separated group/version and group/version/Kind entries. */
export function parseApiVersions(list: string): string[] {
  return list
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * Turn name → string values (from parameters, env or --param flags) into typed settings.
 * Empty strings mean "not set": the Argo CD UI sends "" for a cleared field.
 */
export function settingsFromStrings(values: Readonly<Record<string, string>>, where: (name: string) => string): RenderSettings {
  const out: RenderSettings = {};
  for (const [name, raw] of Object.entries(values)) {
    const value = raw.trim();
    if (value === '') continue;
    switch (name as ParameterName) {
      case 'cluster':
        out.cluster = value;
        break;
      case 'namespace':
        out.namespace = value;
        break;
      case 'strict':
      case 'resolve':
        out[name as 'strict' | 'resolve'] = parseBool(value, where(name));
        break;
    }
  }
  return out;
}

function parseBool(v: string, where: string): boolean {
  const s = v.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw new ModelpinError('MODELPIN_E_PARAM', `${where} is "${v}", not a boolean`, { hint: 'use true or false' });
}

function isKnown(name: string): name is ParameterName {
  return (PARAMETER_NAMES as readonly string[]).includes(name);
}

/** ARGOCD_APP_PARAMETERS: `[{"name":"cluster","string":"prod-eu"}, ...]` (also array/map forms, which no modelpin parameter takes). */
export function parseAppParameters(json: string): Record<string, string> {
  const bad = (msg: string, hint = `known parameters: ${PARAMETER_NAMES.join(', ')}; each takes a string`) =>
    new ModelpinError('MODELPIN_E_PARAM', `ARGOCD_APP_PARAMETERS: ${msg}`, { hint });
  if (json.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`, 'Argo CD sends a JSON array; when reproducing locally, quote it for the shell');
  }
  if (data === null) return {};
  if (!Array.isArray(data)) throw bad('expected a JSON array of {name, string|array|map}');
  const out: Record<string, string> = {};
  data.forEach((p: unknown, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw bad(`element ${i} is not an object`);
    const o = p as Record<string, unknown>;
    if (typeof o.name !== 'string' || o.name === '') throw bad(`element ${i} has no "name"`);
    const name = o.name;
    if (!isKnown(name)) throw bad(`unknown parameter "${name}"`);
    if ('array' in o || 'map' in o) throw bad(`parameter "${name}" must be a string, not ${'array' in o ? 'an array' : 'a map'}`);
    if (typeof o.string !== 'string') throw bad(`parameter "${name}" has no string value`);
    if (name in out && out[name] !== o.string) throw bad(`parameter "${name}" is given twice with different values`);
    out[name] = o.string;
  });
  return out;
}

/** ARGOCD_ENV_<Name>: names are verbatim from the Application, so match case-insensitively (cluster, CLUSTER, Cluster). */
function fromPluginEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('ARGOCD_ENV_') || value === undefined) continue;
    const name = key.slice('ARGOCD_ENV_'.length).toLowerCase();
    if (!isKnown(name)) continue; // other plugin env entries may be meant for the user's own tooling
    if (name in out && out[name] !== value) {
      throw new ModelpinError('MODELPIN_E_PARAM', `ARGOCD_ENV_* sets "${name}" twice with different values`, {
        hint: `keep one of the spellings in spec.source.plugin.env`,
      });
    }
    out[name] = value;
  }
  return out;
}

function nonEmpty(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
}

function envNameOf(env: Env, name: string): string {
  return Object.keys(env).find((k) => k.startsWith('ARGOCD_ENV_') && k.slice(11).toLowerCase() === name)?.slice(11) ?? name;
}

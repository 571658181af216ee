// parseSpec: modelpin.yaml text → a validated, defaulted, deeply frozen ModelDeployment, or one
// ModelpinError listing every problem with file:line:col and field path. Pure: no fs, env, clock.
import { ModelpinError, type Problem } from '../errors.js';
import { checkSemantics } from './checks.js';
import { scanCredentials } from './credentials.js';
import { baseLocator, overlayLocator, type Locator } from './locate.js';
import { cloneJson, deepFreeze, deepMerge, isPlainObject } from './merge.js';
import { loadSource, type Source } from './source.js';
import { checkStructure } from './structure.js';
import { CLUSTER_NAME } from './patterns.js';
import type { ModelDeployment } from './types.js';

const CLUSTER_NAME_RE = new RegExp(CLUSTER_NAME);

export interface ParseOptions {
  /** Shown in problem locations (the path the user gave). */
  file: string;
  /** Merge spec.clusters[cluster] over spec before validating. "" counts as not given (an empty Argo CD parameter). */
  cluster?: string;
  /** Accept a spec without spec.model.digest (lock and render-time resolution fill it in). */
  allowUnpinned?: boolean;
  /**
   * Without `cluster`: also check every overlay merged over the base (default true, what
   * `validate` wants). Render passes false: rendering the base depends only on the base, so a
   * broken prod overlay cannot fail the sync of an Application that does not use it.
   */
  checkAllClusters?: boolean;
}

export interface ParseResult {
  readonly spec: ModelDeployment;
  /** Problems that do not stop rendering (unpinned images); `--strict` turns them into errors. */
  readonly warnings: readonly Problem[];
  /** Names under spec.clusters, sorted. */
  readonly clusters: readonly string[];
}

export function parseSpec(text: string, opts: ParseOptions): ParseResult {
  const file = opts.file;
  const loaded = loadSource(text, file);
  if (!loaded.source) throw ModelpinError.fromProblems(loaded.problems);
  const src = loaded.source;
  const root = src.value;
  const base = baseLocator(src);

  if (!isPlainObject(root)) {
    const w = base.locate([]);
    throw ModelpinError.fromProblems([{
      code: 'MODELPIN_E_SPEC_INVALID',
      message: 'the spec must be a mapping with apiVersion, kind, metadata and spec',
      hint: 'start from apiVersion: modelpin.dev/v1alpha1, kind: ModelDeployment (see `modelpin schema`)',
      file,
      ...(w.line === undefined ? {} : { line: w.line, col: w.col }),
    }]);
  }

  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  problems.push(...scanCredentials(root, base, file));
  problems.push(...checkClustersShape(root, base, file));

  const spec = isPlainObject(root.spec) ? root.spec : undefined;
  const rawClusters = spec?.clusters;
  const clusters = isPlainObject(rawClusters) ? Object.keys(rawClusters).sort() : [];
  const baseDoc = withoutClusters(root);

  let result: Record<string, unknown>;
  if (opts.cluster !== undefined && opts.cluster !== '') {
    const overlay = isPlainObject(rawClusters) && Object.hasOwn(rawClusters, opts.cluster) ? rawClusters[opts.cluster] : undefined;
    if (overlay === undefined) {
      const w = base.locate(['spec', 'clusters']);
      problems.push({
        code: 'MODELPIN_E_SPEC_CLUSTER',
        message: `cluster ${JSON.stringify(opts.cluster)} has no entry under spec.clusters` + (clusters.length > 0 ? `; known clusters: ${clusters.join(', ')}` : '; the spec defines no clusters'),
        hint: clusters.length > 0 ? `use one of: ${clusters.join(', ')}, or add spec.clusters.${opts.cluster}` : `add spec.clusters.${opts.cluster}: {} (with its overrides), or drop the cluster parameter`,
        file,
        ...(w.line === undefined ? {} : { line: w.line, col: w.col }),
        path: 'spec.clusters',
      });
      // Still validate the base so the user sees everything at once.
      result = cloneJson(baseDoc) as Record<string, unknown>;
      validateFull(result, base, src, opts, problems, warnings);
    } else {
      problems.push(...checkStructure(cloneJson(overlay), 'overlay', base, file, ['spec', 'clusters', opts.cluster]));
      result = mergeOverlay(baseDoc, overlay);
      validateFull(result, overlayLocator(src, opts.cluster), src, opts, problems, warnings);
    }
  } else {
    result = cloneJson(baseDoc) as Record<string, unknown>;
    validateFull(result, base, src, opts, problems, warnings);
    if (rawClusters !== undefined && opts.checkAllClusters !== false) problems.push(...checkClusters(rawClusters, baseDoc, src, opts, problems, warnings));
  }

  const unique = dedupe(problems);
  if (unique.length > 0) throw ModelpinError.fromProblems(unique);
  applyCodeDefaults(result);
  return Object.freeze({ spec: deepFreeze(result) as unknown as ModelDeployment, warnings: deepFreeze(dedupe(warnings)), clusters: Object.freeze(clusters) });
}

/** Names under spec.clusters (sorted), or [] when the text has none or does not parse. */
export function listClusters(text: string): string[] {
  const { source } = loadSource(text, '');
  const spec = isPlainObject(source?.value) ? (source.value as Record<string, unknown>).spec : undefined;
  const clusters = isPlainObject(spec) ? spec.clusters : undefined;
  return isPlainObject(clusters) ? Object.keys(clusters).sort() : [];
}

/** spec.clusters must map cluster names to overlays (mappings, or empty). */
function checkClustersShape(root: Record<string, unknown>, loc: Locator, file: string): Problem[] {
  const raw = isPlainObject(root.spec) ? root.spec.clusters : undefined;
  if (raw === undefined) return [];
  const at = (path: (string | number)[], key = false): Pick<Problem, 'line' | 'col' | 'path'> => {
    const w = loc.locate(path, { key });
    return { ...(w.line === undefined ? {} : { line: w.line, col: w.col }), path: w.path };
  };
  if (!isPlainObject(raw)) {
    return [{ code: 'MODELPIN_E_SPEC_INVALID', message: 'must be a mapping of cluster name to overrides', hint: 'e.g. clusters: {prod-eu: {replicas: 6}}', file, ...at(['spec', 'clusters']) }];
  }
  const out: Problem[] = [];
  for (const [name, overlay] of Object.entries(raw)) {
    if (!CLUSTER_NAME_RE.test(name)) {
      out.push({ code: 'MODELPIN_E_SPEC_INVALID', message: `cluster name ${JSON.stringify(name)} must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit`, hint: 'rename the cluster', file, ...at(['spec', 'clusters', name], true) });
    }
    if (overlay !== null && !isPlainObject(overlay)) {
      out.push({ code: 'MODELPIN_E_SPEC_INVALID', message: 'a cluster overlay must be a mapping of spec fields to override (or empty)', hint: 'e.g. prod-eu: {replicas: 6}', file, ...at(['spec', 'clusters', name]) });
    }
  }
  return out;
}

function withoutClusters(root: Record<string, unknown>): Record<string, unknown> {
  if (!isPlainObject(root.spec) || !('clusters' in root.spec)) return root;
  const spec = { ...root.spec };
  delete spec.clusters;
  return { ...root, spec };
}

function mergeOverlay(baseDoc: Record<string, unknown>, overlay: unknown): Record<string, unknown> {
  const out = cloneJson(baseDoc) as Record<string, unknown>;
  if (isPlainObject(out.spec) && isPlainObject(overlay)) out.spec = deepMerge(out.spec, overlay);
  return out;
}

/** Structure (ajv, which also fills schema defaults into `doc`) and semantic checks. */
function validateFull(doc: Record<string, unknown>, loc: Locator, src: Source, opts: ParseOptions, problems: Problem[], warnings: Problem[]): void {
  problems.push(...checkStructure(doc, 'full', loc, src.file));
  const r = checkSemantics(doc, loc, { file: src.file, allowUnpinned: opts.allowUnpinned === true });
  problems.push(...r.problems);
  warnings.push(...r.warnings);
}

/**
 * Without a chosen cluster every overlay is still checked, on its own (as a partial) and merged
 * over the base, so `modelpin validate` catches an overlay that breaks only one cluster. Problems
 * the base already has are not repeated.
 */
function checkClusters(raw: unknown, baseDoc: Record<string, unknown>, src: Source, opts: ParseOptions, already: Problem[], warnings: Problem[]): Problem[] {
  const out: Problem[] = [];
  if (!isPlainObject(raw)) return out; // the structural check of the base reports the wrong type
  const seen = new Set(already.map(key));
  for (const [name, overlay] of Object.entries(raw)) {
    if (!isPlainObject(overlay)) continue; // reported by the structural check of the base
    const own = checkStructure(cloneJson(overlay), 'overlay', baseLocator(src), src.file, ['spec', 'clusters', name]);
    const merged: Problem[] = [];
    const mergedWarnings: Problem[] = [];
    validateFull(mergeOverlay(baseDoc, overlay), overlayLocator(src, name), src, opts, merged, mergedWarnings);
    // An image the overlay sets (e.g. a per-cluster tag) is warned about where it is written.
    warnings.push(...mergedWarnings.filter((w) => w.path?.startsWith('spec.clusters.')));
    for (const p of [...own, ...merged]) {
      if (seen.has(key(p))) continue;
      seen.add(key(p));
      const inOverlay = p.path?.startsWith(`spec.clusters`) ?? false;
      out.push(inOverlay ? p : { ...p, message: `${p.message} (with spec.clusters.${name} merged over spec)` });
    }
  }
  return out;
}

function key(p: Problem): string {
  return `${p.code}|${p.path ?? ''}|${p.line ?? ''}:${p.col ?? ''}|${p.message}`;
}

/**
 * One problem per place: the credential scan and the URI parser may both flag user:pass@, and an
 * unknown `password:` field is first of all an inline credential. Sorted by position.
 */
function dedupe(problems: Problem[]): Problem[] {
  const credentialAt = new Set(problems.filter((p) => p.code === 'MODELPIN_E_SPEC_INLINE_CREDENTIAL').map((p) => p.path));
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const p of problems) {
    if (p.code !== 'MODELPIN_E_SPEC_INLINE_CREDENTIAL' && credentialAt.has(p.path)) continue;
    const k = `${p.code}|${p.path ?? ''}|${p.line ?? ''}:${p.col ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  // Stable sort: problems without a position keep their order after the positioned ones.
  return out.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || (a.col ?? 0) - (b.col ?? 0));
}

/** Defaults the schema cannot express (they depend on other fields) and normalisations. */
function applyCodeDefaults(doc: Record<string, unknown>): void {
  const spec = doc.spec as Record<string, unknown>;
  const model = spec.model as Record<string, unknown>;
  if (model.format === 'tar' && model.entry === undefined) model.entry = 'model.onnx';
  // Quantities may be written as YAML numbers (cpu: 1); Kubernetes wants strings in the types.
  for (const section of [spec.serving, spec.app]) {
    const res = isPlainObject(section) ? section.resources : undefined;
    if (!isPlainObject(res)) continue;
    for (const list of [res.requests, res.limits]) {
      if (!isPlainObject(list)) continue;
      for (const [k, v] of Object.entries(list)) if (typeof v === 'number') list[k] = String(v);
    }
  }
}

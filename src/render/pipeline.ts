// The whole of `modelpin render` after settings are known: parse → (resolve) → render → check
// warnings → serialize. The CLI and the golden tests both go through here, so the golden files
// show byte for byte what Argo CD receives.
import { ModelpinError, type Problem } from '../errors.js';
import { parseSpec } from '../spec/parse.js';
import type { ModelDeployment } from '../spec/types.js';
import { render } from './render.js';
import { serialize, type OutputFormat } from './serialize.js';
import { annotateWarnings } from './warnings.js';
import type { KubeVersion } from './types.js';

export interface PipelineOptions {
  file: string;
  kubeVersion: KubeVersion;
  /** APIs the cluster serves (Argo CD's KUBE_API_VERSIONS); absent = unknown. */
  apiVersions?: readonly string[];
  cluster?: string;
  namespace?: string;
  appName?: string;
  strict?: boolean;
  format?: OutputFormat;
  /**
   * Render-time resolution: when given, an unpinned spec is accepted and this pins it (network
   * I/O lives in the caller, keeping this module pure).
   */
  resolve?: (spec: ModelDeployment) => Promise<{ uri: string; digest: string; size?: number }>;
}

export interface PipelineResult {
  /** The manifests, exactly as printed on stdout. */
  readonly output: string;
  /** Warnings for stderr (empty under strict: they are thrown instead). */
  readonly warnings: readonly Problem[];
}

export async function renderText(text: string, opts: PipelineOptions): Promise<PipelineResult> {
  const parsed = parseSpec(text, {
    file: opts.file,
    ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
    allowUnpinned: opts.resolve !== undefined,
    // Render what was asked for; `modelpin validate` checks every overlay.
    checkAllClusters: false,
  });
  let spec = parsed.spec;
  let resolvedAtRender = false;
  if (opts.resolve && spec.spec.model.digest === undefined) {
    const pin = await opts.resolve(spec);
    const model = { ...spec.spec.model, uri: pin.uri, digest: pin.digest, ...(pin.size === undefined ? {} : { size: pin.size }) };
    spec = { ...spec, spec: { ...spec.spec, model } };
    resolvedAtRender = true;
  }

  const result = render(spec, {
    kubeVersion: opts.kubeVersion,
    ...(opts.apiVersions === undefined ? {} : { apiVersions: opts.apiVersions }),
    ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
    ...(opts.appName === undefined ? {} : { appName: opts.appName }),
    ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
    ...(resolvedAtRender ? { resolvedAtRender } : {}),
  });

  // The parser and render may both notice the same thing (e.g. an unpinned image): report it once,
  // keeping the parser's copy, which knows the file position.
  const seen = new Set<string>();
  const warnings = [...parsed.warnings, ...result.warnings].filter((w) => {
    const key = `${w.code}\u0000${w.path ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (warnings.length > 0 && opts.strict) {
    throw ModelpinError.fromProblems(warnings.map((w) => ({ ...w, message: `${w.message} (an error because strict is set)` })));
  }
  return { output: serialize(annotateWarnings(result.objects, warnings), opts.format ?? 'yaml'), warnings };
}

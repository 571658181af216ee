// Rules the JSON Schema cannot state well: URIs, label keys, ordering, cross-field constraints,
// pinning. They run on the defaulted value after the structural check and tolerate wrong types
// there (ajv has already reported those), so a spec with many problems reports them all.
import { isPlainPath, parseArtifactUri, redactBeforeAt } from '../artifact-uri.js';
import { ModelpinError, type ErrorCode, type Problem } from '../errors.js';
import type { Locator } from './locate.js';
import { quoteKey } from './credentials.js';
import { isPlainObject } from './merge.js';
import { analysisTiming, DEFAULT_FAILURE_LIMIT, DEFAULT_INTERVAL, DEFAULT_SCRAPE_INTERVAL, formatDuration } from './canary-timing.js';
import { durationSeconds, IMAGE_PINNED, labelValueProblem, qualifiedNameProblem } from './patterns.js';
import type { PathSeg } from './source.js';

type Obj = Record<string, unknown>;

export interface CheckOptions {
  file: string;
  allowUnpinned: boolean;
}

export interface CheckResult {
  problems: Problem[];
  warnings: Problem[];
}

const IMAGE_PINNED_RE = new RegExp(IMAGE_PINNED);

function obj(v: unknown): Obj | undefined {
  return isPlainObject(v) ? v : undefined;
}

export function checkSemantics(doc: unknown, loc: Locator, opts: CheckOptions): CheckResult {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const make = (code: ErrorCode, path: PathSeg[], message: string, hint?: string, key = false): Problem => {
    const w = loc.locate(path, { key });
    return { code, message, ...(hint === undefined ? {} : { hint }), file: opts.file, ...(w.line === undefined ? {} : { line: w.line, col: w.col }), path: w.path };
  };
  const report = (code: ErrorCode, path: PathSeg[], message: string, hint?: string, key = false): void => {
    problems.push(make(code, path, message, hint, key));
  };

  const root = obj(doc);
  if (!root) return { problems, warnings };
  const meta = obj(root.metadata);
  for (const field of ['labels', 'annotations'] as const) {
    const m = obj(meta?.[field]);
    if (!m) continue;
    for (const [k, v] of Object.entries(m)) {
      const kp = qualifiedNameProblem(k);
      if (kp) report('MODELPIN_E_SPEC_INVALID', ['metadata', field, k], `${field === 'labels' ? 'label' : 'annotation'} key ${quoteKey(k)} is not valid: ${kp}`, 'rename the key', true);
      if (field === 'labels' && typeof v === 'string') {
        const vp = labelValueProblem(v);
        if (vp) report('MODELPIN_E_SPEC_INVALID', ['metadata', field, k], `label value of ${quoteKey(k)} is not valid: ${vp}`, 'shorten it or move it to metadata.annotations');
      }
    }
  }

  const spec = obj(root.spec);
  if (!spec) return { problems, warnings };
  const model = obj(spec.model);
  const serving = obj(spec.serving);
  const app = obj(spec.app);
  const gates = obj(spec.gates);
  const mlflowGate = obj(gates?.mlflow);

  // --- model -------------------------------------------------------------------------------------
  if (model) {
    if (typeof model.uri === 'string' && model.uri.trim() !== '') {
      const scheme = checkArtifactUri(model.uri, ['spec', 'model', 'uri'], report);
      if (scheme === 'models') {
        const envTracking = Array.isArray(serving?.env) && serving.env.some((e) => obj(e)?.name === 'MLFLOW_TRACKING_URI');
        const gateTracking = typeof mlflowGate?.trackingUri === 'string';
        if (!envTracking && !gateTracking) {
          report(
            'MODELPIN_E_SPEC_URI',
            ['spec', 'model', 'uri'],
            'a models:/ URI needs an MLflow tracking server, and the spec names none',
            'set spec.gates.mlflow.trackingUri, or add {name: MLFLOW_TRACKING_URI, value: https://mlflow.example.com} to spec.serving.env',
          );
        }
      }
    }
    if (model.digest === undefined && !opts.allowUnpinned) {
      report(
        'MODELPIN_E_SPEC_UNPINNED',
        ['spec', 'model', 'digest'],
        'spec.model.digest is missing: the model artifact is not pinned',
        'run `modelpin lock <path-to-spec>` to compute and write it, or run `sha256sum <artifact>` and add `digest: sha256:<hex>` under spec.model',
      );
    }
    if (model.entry !== undefined && model.format !== 'tar') {
      report('MODELPIN_E_SPEC_INVALID', ['spec', 'model', 'entry'], '`entry` applies only to format: tar', 'remove `entry`, or set `format: tar` if the artifact is an archive', true);
    }
    if (typeof model.entry === 'string') {
      const e = model.entry;
      if (e.startsWith('/') || /^[A-Za-z]:/.test(e) || e.includes('\\') || e.split('/').includes('..')) {
        report('MODELPIN_E_SPEC_INVALID', ['spec', 'model', 'entry'], `entry ${JSON.stringify(e)} must be a relative path inside the archive without ".." or backslashes`, 'e.g. entry: model/model.onnx');
      }
    }
    const sig = obj(model.signature);
    if (sig && typeof sig.uri === 'string' && sig.uri.trim() !== '') {
      const scheme = checkArtifactUri(sig.uri, ['spec', 'model', 'signature', 'uri'], report);
      if (scheme === 'models') {
        report('MODELPIN_E_SPEC_URI', ['spec', 'model', 'signature', 'uri'], 'a signature cannot live in the MLflow model registry', 'point at the .sig file with s3://, https:// or file:///');
      }
    }
  }

  // --- serving: warm-up samples --------------------------------------------------------------------
  const warmup = obj(serving?.warmup);
  if (warmup) {
    const at = (k: string): PathSeg[] => ['spec', 'serving', 'warmup', k];
    if (warmup.samples !== undefined && warmup.uri !== undefined) {
      report('MODELPIN_E_SPEC_INVALID', at('uri'), 'warm-up samples are given both inline (samples) and as a file (uri)', 'keep one of samples and uri');
    }
    if (typeof warmup.uri === 'string' && warmup.uri.trim() !== '') {
      checkArtifactUri(warmup.uri, at('uri'), report);
      if (warmup.digest === undefined) report('MODELPIN_E_SPEC_UNPINNED', at('uri'), 'the warm-up samples file has no digest: it is verified like the model', 'add warmup.digest: sha256:<hex> (`sha256sum <file>`)');
    } else if (warmup.digest !== undefined) {
      report('MODELPIN_E_SPEC_INVALID', at('digest'), 'warmup.digest is set without warmup.uri', 'remove it, or add the uri of the samples file');
    }
  }

  // --- containers ----------------------------------------------------------------------------------
  for (const [section, name] of [[serving, 'serving'], [app, 'app']] as const) {
    if (!section) continue;
    if (typeof section.image === 'string' && section.image !== '' && !IMAGE_PINNED_RE.test(section.image)) {
      warnings.push(
        make(
          'MODELPIN_E_IMAGE_UNPINNED',
          ['spec', name, 'image'],
          `image ${JSON.stringify(section.image)} is not pinned by digest; a tag can be moved to different bytes`,
          'append the digest: <image>:<tag>@sha256:<hex> (e.g. from `docker buildx imagetools inspect <image>`)',
        ),
      );
    }
    if (Array.isArray(section.env)) {
      const seen = new Map<string, number>();
      section.env.forEach((e, i) => {
        const n = obj(e)?.name;
        if (typeof n !== 'string') return;
        const first = seen.get(n);
        if (first !== undefined) report('MODELPIN_E_SPEC_INVALID', ['spec', name, 'env', i, 'name'], `environment variable ${n} is set twice (also at spec.${name}.env[${first}])`, 'keep one of them');
        else seen.set(n, i);
      });
    }
  }
  if (app && serving && typeof app.port === 'number' && app.port === serving.port) {
    report('MODELPIN_E_SPEC_INVALID', ['spec', 'app', 'port'], `app port ${app.port} clashes with serving.port; both containers share the pod's network`, 'pick a different port for the app (or for serving.port)');
  }
  // The sidecar's gRPC default (8081) counts when the spec leaves grpcPort out.
  const grpcPort = serving && (serving.grpcPort === undefined ? 8081 : serving.grpcPort);
  if (serving && typeof grpcPort === 'number' && grpcPort > 0 && grpcPort === (serving.port ?? 8080)) {
    report('MODELPIN_E_SPEC_INVALID', ['spec', 'serving', 'grpcPort'], `serving.grpcPort ${grpcPort} is also serving.port; REST and gRPC need a port each`, 'pick another grpcPort (default 8081), or 0 to turn gRPC off');
  }
  if (app && typeof app.port === 'number' && app.port === grpcPort && grpcPort > 0 && app.port !== serving?.port) {
    report('MODELPIN_E_SPEC_INVALID', ['spec', 'app', 'port'], `app port ${app.port} clashes with serving.grpcPort; both containers share the pod's network`, 'pick a different port for the app (or set serving.grpcPort)');
  }

  // --- rollout -------------------------------------------------------------------------------------
  const canary = obj(obj(spec.rollout)?.canary);
  if (canary && Array.isArray(canary.steps)) {
    let prev: number | undefined;
    canary.steps.forEach((s, i) => {
      const step = obj(s);
      if (!step) return;
      if (typeof step.weight === 'number') {
        if (prev !== undefined && step.weight <= prev) {
          report('MODELPIN_E_SPEC_INVALID', ['spec', 'rollout', 'canary', 'steps', i, 'weight'], `weight ${step.weight} is not greater than the previous step's ${prev}; weights must strictly increase`, 'order the steps by increasing weight and drop duplicates');
        }
        prev = step.weight;
      }
      if (typeof step.pause === 'string' && durationSeconds(step.pause) === 0) {
        report('MODELPIN_E_SPEC_INVALID', ['spec', 'rollout', 'canary', 'steps', i, 'pause'], 'pause must be longer than zero', 'remove `pause` to wait until promoted by hand, or give a duration such as 5m');
      }
    });
  }
  const analysis = obj(canary?.analysis);
  if (analysis) {
    const at: PathSeg[] = ['spec', 'rollout', 'canary', 'analysis'];
    const prometheus = obj(analysis.prometheus);
    const address = prometheus?.address;
    if (typeof address === 'string' && address !== '') checkHttpUrl(address, [...at, 'prometheus', 'address'], report);
    const positive = (v: unknown, path: PathSeg[], hint: string): boolean => {
      if (typeof v !== 'string') return v === undefined; // a wrong type is ajv's to report
      if (durationSeconds(v) > 0) return true;
      report('MODELPIN_E_SPEC_INVALID', path, `${String(path[path.length - 1])} must be longer than zero`, hint);
      return false;
    };
    const intervalOk = positive(analysis.interval, [...at, 'interval'], 'e.g. interval: 1m');
    const scrapeOk = positive(prometheus?.scrapeInterval, [...at, 'prometheus', 'scrapeInterval'], 'give your Prometheus scrape interval, e.g. scrapeInterval: 30s');
    for (const [k, v] of Object.entries(obj(prometheus?.podMonitorLabels) ?? {})) {
      const kp = qualifiedNameProblem(k);
      if (kp) report('MODELPIN_E_SPEC_INVALID', [...at, 'prometheus', 'podMonitorLabels', k], `label key ${JSON.stringify(k)} is not valid: ${kp}`, 'rename the key', true);
      const vp = typeof v === 'string' ? labelValueProblem(v) : undefined;
      if (vp) report('MODELPIN_E_SPEC_INVALID', [...at, 'prometheus', 'podMonitorLabels', k], `label value of ${JSON.stringify(k)} is not valid: ${vp}`, 'use the value your Prometheus podMonitorSelector expects');
    }
    if (intervalOk && scrapeOk && Array.isArray(canary?.steps)) checkAnalysisCanAbort(canary.steps, analysis, report);
  }

  // --- gates ---------------------------------------------------------------------------------------
  if (mlflowGate) {
    if (typeof mlflowGate.trackingUri === 'string' && mlflowGate.trackingUri !== '') checkHttpUrl(mlflowGate.trackingUri, ['spec', 'gates', 'mlflow', 'trackingUri'], report);
    const metrics = obj(mlflowGate.metrics);
    for (const [name, b] of Object.entries(metrics ?? {})) {
      const bounds = obj(b);
      if (bounds && typeof bounds.min === 'number' && typeof bounds.max === 'number' && bounds.min > bounds.max) {
        report('MODELPIN_E_SPEC_INVALID', ['spec', 'gates', 'mlflow', 'metrics', name, 'min'], `min ${bounds.min} is greater than max ${bounds.max}; no value can pass this gate`, 'swap them or fix the typo');
      }
    }
  }
  return { problems, warnings };
}

type Report = (code: ErrorCode, path: PathSeg[], message: string, hint?: string) => void;

/**
 * A rollout whose pauses all end before the analysis could fail it promotes the canary unjudged.
 * The background analysis starts with the first pause (once the first weight's pods are
 * available); the measurement that exceeds failureLimit comes initialDelay + failureLimit ×
 * interval later. A step without a pause waits for a human, so the analysis has all the time then.
 */
function checkAnalysisCanAbort(steps: unknown[], analysis: Obj, report: Report): void {
  let pauses = 0;
  for (const s of steps) {
    const pause = obj(s)?.pause;
    if (pause === undefined) return;
    if (typeof pause !== 'string') return; // ajv reported it
    pauses += durationSeconds(pause);
  }
  const failureLimit = typeof analysis.failureLimit === 'number' ? analysis.failureLimit : undefined;
  const t = analysisTiming({
    prometheus: { scrapeInterval: (obj(analysis.prometheus)?.scrapeInterval as string | undefined) ?? DEFAULT_SCRAPE_INTERVAL },
    interval: (analysis.interval as string | undefined) ?? DEFAULT_INTERVAL,
    failureLimit: failureLimit ?? DEFAULT_FAILURE_LIMIT,
  });
  if (!Number.isFinite(pauses) || !Number.isFinite(t.abortAfterSeconds) || pauses >= t.abortAfterSeconds) return;
  report(
    'MODELPIN_E_SPEC_INVALID',
    ['spec', 'rollout', 'canary', 'steps'],
    `the canary is fully promoted after ${formatDuration(pauses)} of pauses, before the analysis can abort it: that takes ` +
      `${t.failureLimit + 1} failed measurement(s) (failureLimit ${t.failureLimit}) ${formatDuration(t.intervalSeconds)} apart, the first ` +
      `${formatDuration(t.initialDelaySeconds)} (3 scrape intervals) into the first pause, so ${formatDuration(t.abortAfterSeconds)}`,
    `make the pauses add up to at least ${formatDuration(t.abortAfterSeconds)}, end with a step without pause (promote by hand), or lower analysis.interval or failureLimit`,
  );
}

/** Parse an artifact URI the way a spec allows it; returns its scheme when it parses. */
function checkArtifactUri(uri: string, path: PathSeg[], report: Report): string | undefined {
  const s = uri.trim();
  if (isPlainPath(s)) {
    report('MODELPIN_E_SPEC_URI', path, `${JSON.stringify(redactBeforeAt(s))} is a plain path; in a spec, local files are absolute file URIs`, s.startsWith('/') ? `write file://${redactBeforeAt(s)}` : 'write file:///absolute/path/to/model.onnx (the sidecar does not know your working directory)');
    return undefined;
  }
  if (/^file:/i.test(s) && !/^file:\/\/\//i.test(s)) {
    report('MODELPIN_E_SPEC_URI', path, `${JSON.stringify(redactBeforeAt(s))} is not an absolute file URI`, 'write file:///absolute/path (three slashes)');
    return undefined;
  }
  try {
    return parseArtifactUri(s).scheme;
  } catch (e) {
    if (!(e instanceof ModelpinError)) throw e;
    const p = e.problems[0]!;
    report(p.code, path, p.message, p.hint);
    return undefined;
  }
}

function checkHttpUrl(s: string, path: PathSeg[], report: Report): void {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    report('MODELPIN_E_SPEC_INVALID', path, `${JSON.stringify(s)} is not a URL`, 'write an http:// or https:// URL, e.g. http://prometheus.monitoring:9090');
    return;
  }
  // user:password@ is reported by the credential scan; don't echo it here.
  if (u.username !== '' || u.password !== '') return;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    report('MODELPIN_E_SPEC_INVALID', path, `scheme ${JSON.stringify(u.protocol.replace(/:$/, ''))} is not http or https`, 'write an http:// or https:// URL');
  }
}

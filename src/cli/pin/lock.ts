// `modelpin lock`: resolve the spec's model reference to an immutable URI + digest + size, check
// the promotion gates, and write the pin into the spec file in place (comments and layout kept,
// atomic rename, so an interrupted or failing lock never leaves a half-written spec).
import { chmod, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelpinError } from '../../errors.js';
import { applySpecEdits } from '../../spec/edit.js';
import { evaluateGates, formatGateResults, type GateEvaluation } from '../../pin/gates.js';
import { formatChanges, lockSource, planLock, TRACK_ANNOTATION, type CurrentPin, type FieldChange } from '../../pin/plan.js';
import type { ModelDeployment } from '../../spec/types.js';
import type { Logger } from '../../../sidecar/log.js';
import { mlflowClientFor, resolveArtifact, type Resolution } from './artifact.js';

export interface LockOptions {
  path: string;
  check?: boolean;
  /** Resolve this reference instead of the spec's (e.g. to follow another alias); it becomes tracked. */
  uri?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  credentialsDir?: string;
  caFile?: string;
  /** Already resolved (publish knows what it uploaded); requires `uri`. Gates still run. */
  resolved?: Resolution;
}

export interface LockResult {
  file: string;
  changed: boolean;
  changes: readonly FieldChange[];
  resolution: Resolution;
  gates?: GateEvaluation;
}

export async function lockSpecFile(opts: LockOptions): Promise<LockResult> {
  const prepared = await prepareLock(opts.path, opts.uri);
  const deps = {
    env: opts.env,
    log: opts.log,
    ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}),
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
  };
  const { registryUri } = await import('./resolve.js');
  const trackingUri = registryUri(prepared.spec);
  if (trackingUri) Object.assign(deps, { trackingUri });
  const resolution = opts.resolved ?? (await resolveArtifact(prepared.source, deps));
  // Gates run on every lock, --check included: a digest typed in by hand gets no free pass.
  const gates = await checkGates(prepared.spec, resolution, deps);
  const written = await writePin(prepared, resolution, opts.check ? { check: true } : {});
  return { ...written, resolution, ...(gates ? { gates } : {}) };
}

/** A spec read and parsed for pinning, and the reference the pin is resolved from. */
export interface PreparedLock {
  /** As the user gave it (for messages). */
  readonly path: string;
  readonly file: string;
  readonly text: string;
  readonly spec: ModelDeployment;
  readonly current: CurrentPin;
  /** What is resolved: `uri` if given (it becomes the tracked reference), else the tracked one, else spec.model.uri. */
  readonly source: string;
}

/**
 * The first half of lock, with no side effect: read and parse the spec and decide what to resolve.
 * `modelpin publish --pin` runs this and the gates before it uploads anything.
 */
export async function prepareLock(path: string, uri?: string): Promise<PreparedLock> {
  const [{ readSpecFile }, { parseSpec }] = await Promise.all([import('../spec-file.js'), import('../../spec/parse.js')]);
  const { file, text } = await readSpecFile(path);
  const spec = parseForLock(text, file, parseSpec);
  const m = spec.spec.model;
  const track = spec.metadata.annotations?.[TRACK_ANNOTATION];
  const current = { uri: m.uri, ...(m.digest ? { digest: m.digest } : {}), ...(m.size !== undefined ? { size: m.size } : {}), ...(track ? { track } : {}) };
  return { path, file, text, spec, current, source: lockSource(current, uri) };
}

/**
 * The second half: write what the resolution says (spec.model.uri/digest/size and the track
 * annotation), the one place lock and publish --pin write a pin. With `check`, write nothing and
 * fail when something would change.
 */
export async function writePin(prepared: PreparedLock, resolution: Pick<Resolution, 'uri' | 'digest' | 'size'>, opts: { check?: boolean } = {}): Promise<{ file: string; changed: boolean; changes: readonly FieldChange[] }> {
  const { file, current, source } = prepared;
  const plan = planLock(current, source, { uri: resolution.uri, digest: resolution.digest, ...(resolution.size === undefined ? {} : { size: resolution.size }) });
  if (plan.changes.length === 0) return { file, changed: false, changes: [] };
  if (opts.check) {
    throw new ModelpinError('MODELPIN_E_LOCK_STALE', `the pin in ${file} is ${current.digest ? 'out of date' : 'missing'}:\n${formatChanges(plan.changes)}`, {
      hint: `run \`modelpin lock ${prepared.path}\` and commit the result`,
      location: { file, path: 'spec.model' },
    });
  }
  await writeAtomically(file, applySpecEdits(prepared.text, plan.edits, file));
  return { file, changed: true, changes: plan.changes };
}

/**
 * Parse, tolerating exactly what lock is about to overwrite: a malformed digest or size (the digest
 * error's own hint says "run modelpin lock"). Those fields then count as missing; anything else
 * wrong with the spec still stops lock.
 */
function parseForLock(text: string, file: string, parseSpec: typeof import('../../spec/parse.js').parseSpec): ModelDeployment {
  try {
    return parseSpec(text, { file, allowUnpinned: true }).spec;
  } catch (e) {
    const pinFields = new Set(['spec.model.digest', 'spec.model.size']);
    if (!(e instanceof ModelpinError) || !e.problems.every((p) => p.path !== undefined && pinFields.has(p.path))) throw e;
    const stripped = applySpecEdits(text, [
      { path: ['spec', 'model', 'digest'], value: undefined },
      { path: ['spec', 'model', 'size'], value: undefined },
    ], file);
    return parseSpec(stripped, { file, allowUnpinned: true }).spec;
  }
}

/** Promotion gates against the run behind the version (or provenance.mlflowRunId). Fails closed. */
export async function checkGates(
  spec: ModelDeployment,
  resolution: Pick<Resolution, 'runId' | 'uri'>,
  deps: { env: NodeJS.ProcessEnv; credentialsDir?: string; caFile?: string },
  refusing = 'refusing to pin',
): Promise<GateEvaluation | undefined> {
  const gate = spec.spec.gates?.mlflow;
  if (!gate) return undefined;
  const runId = resolution.runId ?? spec.spec.model.provenance?.mlflowRunId;
  let metrics: Record<string, number> | undefined;
  let why = '';
  if (runId === undefined) {
    why = `${resolution.uri} has no MLflow run (register the version with a run_id, or set spec.model.provenance.mlflowRunId)`;
  } else {
    const client = await mlflowClientFor(deps, gate.trackingUri);
    try {
      metrics = (await client.getRun(runId)).metrics;
    } catch (e) {
      const { MlflowApiError } = await import('../../../sidecar/sources/mlflow.js');
      if (!(e instanceof MlflowApiError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw e;
      why = `MLflow run ${runId} does not exist on ${gate.trackingUri}`;
    }
  }
  const evaluation = evaluateGates(gate.metrics, metrics);
  if (!evaluation.ok) {
    throw new ModelpinError(
      'MODELPIN_E_GATE_FAILED',
      `promotion gate failed for ${resolution.uri}${runId ? ` (run ${runId})` : ''}; ${refusing}${why ? `: ${why}` : ''}\n${formatGateResults(evaluation.results)}`,
      { hint: 'pin a model version whose run meets spec.gates.mlflow.metrics, or change the thresholds in a reviewed commit', location: { path: 'spec.gates.mlflow.metrics' } },
    );
  }
  return evaluation;
}

/** temp file in the same directory + rename: readers see the old or the new file, never half. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.modelpin-${process.pid}-${Date.now()}.tmp`);
  const mode = (await stat(file).catch(() => undefined))?.mode;
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(text);
      await fh.sync(); // the new content is on disk before the rename makes it visible
    } finally {
      await fh.close();
    }
    if (mode !== undefined) await chmod(tmp, mode & 0o7777);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new ModelpinError('MODELPIN_E_SPEC_WRITE', `could not write ${file}: ${(e as Error).message}; the original file is unchanged`, {
      hint: 'make the file and its directory writable (lock writes a temp file beside it, then renames it over the spec)',
      location: { file },
      cause: e,
    });
  }
}

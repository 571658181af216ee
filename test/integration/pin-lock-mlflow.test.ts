// modelpin lock against a real MLflow tracking server: alias resolution, a moved alias leaving a
// locked spec alone, promotion gates passing and failing (fail closed), comments preserved,
// --check for CI, and lock being idempotent (byte-identical second run).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMlflow, type MlflowServer } from './support/mlflow.js';
import { runCli } from './support/pin-cli.js';

let mlflow: MlflowServer;
let dir: string;
let env: NodeJS.ProcessEnv;

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Uploads `bytes` as <run artifacts>/model/model.onnx and registers it (an mlflow-artifacts:/ directory source). */
async function registerModel(name: string, bytes: Uint8Array, metrics: Record<string, number>): Promise<{ version: string; runId: string }> {
  const runId = await mlflow.createRun(metrics);
  const run = await mlflow.api<{ run: { info: { artifact_uri: string } } }>('runs/get', undefined, { run_id: runId });
  const root = run.run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  await mlflow.uploadArtifact(`${root}/model/model.onnx`, bytes);
  await mlflow.uploadArtifact(`${root}/model/MLmodel`, new TextEncoder().encode('flavors: {onnx: {}}\n'));
  const version = await mlflow.registerVersion(name, `${run.run.info.artifact_uri}/model`, { runId });
  return { version, runId };
}

// The sidecar needs the tracking server too; the spec must name it (serving.env or gates).
function spec(uri: string, gates = ''): string {
  return `# Fraud model: pinned by modelpin lock
apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector # app name
spec:
  model:
    # follow the champion alias
    uri: ${uri}   # the registry reference
    format: onnx

  serving:
    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0
    env:
      - {name: MLFLOW_TRACKING_URI, value: "${mlflow.url}"}
  replicas: 1
${gates}`;
}

const gates = (trackingUri: string, min: number) => `  gates:
    mlflow:
      trackingUri: ${trackingUri}
      metrics:
        accuracy: {min: ${min}}
`;

beforeAll(async () => {
  mlflow = await startMlflow();
  dir = await mkdtemp(join(tmpdir(), 'modelpin-pin-'));
  env = { ...process.env, MLFLOW_TRACKING_URI: mlflow.url };
});

afterAll(async () => {
  await mlflow?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('modelpin lock with MLflow models:/', () => {
  it('pins an alias to the concrete version and digest, keeps comments, and a second lock is byte-identical', async () => {
    const v1bytes = new TextEncoder().encode('model v1 bytes');
    const v2bytes = new TextEncoder().encode('model v2 bytes, different');
    const a = await registerModel('fraud', v1bytes, { accuracy: 0.95 });
    const b = await registerModel('fraud', v2bytes, { accuracy: 0.97 });
    await mlflow.setAlias('fraud', 'champion', a.version);

    const file = join(dir, 'alias.yaml');
    const original = spec('models:/fraud@champion');
    await writeFile(file, original);
    const r = await runCli(['lock', file], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const locked = await readFile(file, 'utf8');
    expect(locked).toBe(
      original
        .replace('name: fraud-detector # app name\n', `name: fraud-detector # app name\n  annotations:\n    modelpin.dev/track: models:/fraud@champion\n`)
        .replace('uri: models:/fraud@champion   # the registry reference\n', `uri: models:/fraud/${a.version}   # the registry reference\n    digest: ${sha(v1bytes)}\n    size: ${v1bytes.length}\n`),
    );

    // Idempotent: nothing moved, so nothing changes, byte for byte; --check agrees.
    const again = await runCli(['lock', file], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
    expect(await readFile(file, 'utf8')).toBe(locked);
    expect((await runCli(['lock', file, '--check'], { env })).code).toBe(0);

    // The alias moves: the locked spec still says version a (git is the truth), --check reports
    // stale without touching the file, and the next lock follows the alias to version b.
    await mlflow.setAlias('fraud', 'champion', b.version);
    expect(await readFile(file, 'utf8')).toBe(locked);
    const check = await runCli(['lock', file, '--check'], { env });
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/MODELPIN_E_LOCK_STALE/);
    expect(check.stderr).toContain(`models:/fraud/${a.version} -> models:/fraud/${b.version}`);
    expect(await readFile(file, 'utf8')).toBe(locked);

    expect((await runCli(['lock', file], { env })).code).toBe(0);
    const relocked = await readFile(file, 'utf8');
    expect(relocked).toContain(`uri: models:/fraud/${b.version}   # the registry reference\n    digest: ${sha(v2bytes)}\n    size: ${v2bytes.length}\n`);
    expect(relocked).toContain('# follow the champion alias\n');
  });

  it('resolves models:/name/latest to the highest version and uses the modelpin.digest tag when present', async () => {
    const bytes = new TextEncoder().encode('tagged model');
    const runId = await mlflow.createRun({ accuracy: 0.99 });
    // The tag is trusted (publish wrote it after hashing): the source need not even be readable.
    const version = await mlflow.registerVersion('tagged', 's3://nowhere-bucket/never/model.onnx', {
      runId,
      tags: { 'modelpin.digest': sha(bytes), 'modelpin.size': String(bytes.length) },
    });
    const file = join(dir, 'latest.yaml');
    await writeFile(file, spec('models:/tagged/latest'));
    const r = await runCli(['lock', file, '-o', 'json'], { env });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { uri: string; digest: string; size: number; digestSource: string };
    expect(out).toMatchObject({ uri: `models:/tagged/${version}`, digest: sha(bytes), size: bytes.length, digestSource: 'mlflow-tag' });
  });

  it('checks promotion gates against the version\'s run: passing pins, failing refuses and changes nothing', async () => {
    const bytes = new TextEncoder().encode('gated model');
    const good = await registerModel('gated', bytes, { accuracy: 0.93 });
    const bad = await registerModel('gated', bytes, { accuracy: 0.91 });

    const passFile = join(dir, 'gate-pass.yaml');
    await writeFile(passFile, spec(`models:/gated/${good.version}`, gates(mlflow.url, 0.92)));
    const pass = await runCli(['lock', passFile], { env });
    expect(pass.stderr).toBe('');
    expect(pass.code).toBe(0);
    expect(pass.stdout).toMatch(/accuracy\s+0\.93\s+>= 0\.92\s+ok/);
    expect(await readFile(passFile, 'utf8')).toContain(`digest: ${sha(bytes)}`);

    const failFile = join(dir, 'gate-fail.yaml');
    const failText = spec(`models:/gated/${bad.version}`, gates(mlflow.url, 0.92));
    await writeFile(failFile, failText);
    const fail = await runCli(['lock', failFile], { env });
    expect(fail.code).toBe(1);
    expect(fail.stderr).toMatch(/MODELPIN_E_GATE_FAILED/);
    expect(fail.stderr).toMatch(/accuracy\s+0\.91\s+>= 0\.92\s+FAIL \(below min\)/);
    expect(await readFile(failFile, 'utf8')).toBe(failText);
  });

  it('gates a non-registry URI through spec.model.provenance.mlflowRunId', async () => {
    const bytes = new TextEncoder().encode('plain file model');
    const model = join(dir, 'plain.onnx');
    await writeFile(model, bytes);
    for (const [accuracy, ok] of [
      [0.95, true],
      [0.5, false],
    ] as const) {
      const runId = await mlflow.createRun({ accuracy });
      const file = join(dir, `prov-${accuracy}.yaml`);
      const text = spec(`file://${model}`, gates(mlflow.url, 0.9)).replace('    format: onnx\n', `    format: onnx\n    provenance:\n      mlflowRunId: ${runId}\n`);
      await writeFile(file, text);
      const r = await runCli(['lock', file], { env });
      if (ok) {
        expect(r.stderr).toBe('');
        expect(await readFile(file, 'utf8')).toContain(`    uri: file://${model}   # the registry reference\n    digest: ${sha(bytes)}\n`);
      } else {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`MODELPIN_E_GATE_FAILED: .*\\(run ${runId}\\)`));
        expect(await readFile(file, 'utf8')).toBe(text);
      }
    }
  });

  it('fails closed when the version has no run or the run lacks the metric', async () => {
    const bytes = new TextEncoder().encode('no run');
    const runId = await mlflow.createRun({});
    const noRun = await mlflow.registerVersion('norun', 's3://nowhere-bucket/x/model.onnx', { tags: { 'modelpin.digest': sha(bytes) } });
    const noMetric = await mlflow.registerVersion('norun', 's3://nowhere-bucket/y/model.onnx', { runId, tags: { 'modelpin.digest': sha(bytes) } });

    for (const [v, why] of [
      [noRun, /no MLflow run/],
      [noMetric, /FAIL \(metric not logged\)/],
    ] as const) {
      const file = join(dir, `norun-${v}.yaml`);
      const text = spec(`models:/norun/${v}`, gates(mlflow.url, 0.5));
      await writeFile(file, text);
      const r = await runCli(['lock', file], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/MODELPIN_E_GATE_FAILED/);
      expect(r.stderr).toMatch(why);
      expect(await readFile(file, 'utf8')).toBe(text);
    }
  });

  it('--check exits 1 for an unpinned spec and reports MLflow errors with the server message', async () => {
    const file = join(dir, 'unpinned.yaml');
    const text = spec('models:/fraud/1');
    await writeFile(file, text);
    const check = await runCli(['lock', file, '--check'], { env });
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/MODELPIN_E_LOCK_STALE: the pin in .* is missing/);
    expect(await readFile(file, 'utf8')).toBe(text);

    await writeFile(file, spec('models:/does-not-exist@champion'));
    const missing = await runCli(['lock', file], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/MODELPIN_E_MLFLOW: MLflow RESOURCE_DOES_NOT_EXIST: .*does-not-exist/);
  });
});

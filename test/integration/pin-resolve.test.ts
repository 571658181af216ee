// Render-time resolution against real MinIO and MLflow: cheap answers (S3 full-object checksum,
// the publish tag), a bounded download with an on-disk cache keyed by the immutable reference,
// MODELPIN_E_RESOLVE_TOO_LARGE beyond the budget, and aliases re-resolved on every render.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDigestCache, resolveForRender } from '../../src/cli/pin/resolve.js';
import { parseSpec } from '../../src/spec/parse.js';
import { startMinio, type MinioServer } from './support/minio.js';
import { startMlflow, type MlflowServer } from './support/mlflow.js';
import { runCli } from './support/pin-cli.js';

let minio: MinioServer;
let mlflow: MlflowServer;
let dir: string;
let env: NodeJS.ProcessEnv;
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function specText(uri: string): string {
  return `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector
spec:
  model:
    uri: ${uri}
  serving:
    image: ghcr.io/modelpin/modelpin-sidecar@sha256:${"a".repeat(64)}
    env:
      - {name: MLFLOW_TRACKING_URI, value: "${mlflow.url}"}
  replicas: 1
`;
}

const spec = (uri: string) => parseSpec(specText(uri), { file: 'modelpin.yaml', allowUnpinned: true }).spec;

beforeAll(async () => {
  [minio, mlflow] = await Promise.all([startMinio(), startMlflow()]);
  await minio.createBucket('models', { versioned: true });
  dir = await mkdtemp(join(tmpdir(), 'modelpin-resolve-'));
  env = { ...process.env, ...minio.env };
});

afterAll(async () => {
  await Promise.all([minio?.stop(), mlflow?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('resolveForRender', () => {
  it('renders an unpinned S3 spec from the full-object checksum publish stored, with no download', async () => {
    const bytes = randomBytes(300_000);
    const model = join(dir, 'm.onnx');
    await writeFile(model, bytes);
    const pub = JSON.parse((await runCli(['publish', model, 's3://models/a/model.onnx', '-o', 'json'], { env })).stdout) as { uri: string };
    // Budget of 1 byte: only a checksum the store already holds can pin this.
    const pin = await resolveForRender(spec('s3://models/a/model.onnx'), { cacheDir: join(dir, 'c1'), maxDownloadBytes: 1, env });
    expect(pin).toEqual({ uri: pub.uri, digest: sha(bytes), size: bytes.length });

    const file = join(dir, 'a.yaml');
    await writeFile(file, specText('s3://models/a/model.onnx'));
    const r = await runCli(['render', file, '--resolve'], { env: { ...env, MODELPIN_CACHE_DIR: join(dir, 'c1'), MODELPIN_RESOLVE_MAX_BYTES: '1' } });
    expect(r.stderr).not.toMatch(/MODELPIN_E_/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(sha(bytes));
    expect(r.stdout).toContain(pub.uri.split('?')[0]);
  });

  it('downloads within the budget once, caches by bucket/key/versionId, and refuses beyond the budget', async () => {
    const bytes = randomBytes(50_000);
    const { versionId } = await minio.putObject('models', 'b/model.onnx', bytes); // no SHA-256 checksum stored
    const cacheDir = join(dir, 'c2');
    const pin = await resolveForRender(spec('s3://models/b/model.onnx'), { cacheDir, maxDownloadBytes: 100_000, env });
    expect(pin).toEqual({ uri: `s3://models/b/model.onnx?versionId=${encodeURIComponent(versionId ?? '')}`, digest: sha(bytes), size: bytes.length });
    expect(await readdir(join(cacheDir, 'resolve'))).toHaveLength(1);

    // The cache answers for that exact object version (a planted entry proves it is consulted).
    const planted = `sha256:${'e'.repeat(64)}`;
    await fileDigestCache(join(cacheDir, 'resolve')).put(pin.uri, { digest: planted, size: 1 });
    expect((await resolveForRender(spec('s3://models/b/model.onnx'), { cacheDir, maxDownloadBytes: 100_000, env })).digest).toBe(planted);

    // A new object version is a new cache key; too big for the budget → refused with the lock hint.
    await minio.putObject('models', 'b/model.onnx', randomBytes(200_000));
    const err = await resolveForRender(spec('s3://models/b/model.onnx'), { cacheDir, maxDownloadBytes: 100_000, env }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_RESOLVE_TOO_LARGE' });
    expect((err as { problems: { hint: string }[] }).problems[0]?.hint).toMatch(/modelpin lock/);
  });

  it('re-resolves an MLflow alias on every render (tag answers), and bounds a proxy download', async () => {
    const runId = await mlflow.createRun({});
    const one = await mlflow.registerVersion('r', 's3://models/x/1.onnx', { runId, tags: { 'modelpin.digest': sha(Buffer.from('1')) } });
    const two = await mlflow.registerVersion('r', 's3://models/x/2.onnx', { runId, tags: { 'modelpin.digest': sha(Buffer.from('2')) } });
    await mlflow.setAlias('r', 'champion', one);
    const opts = { cacheDir: join(dir, 'c3'), maxDownloadBytes: 10, env };
    expect(await resolveForRender(spec('models:/r@champion'), opts)).toEqual({ uri: `models:/r/${one}`, digest: sha(Buffer.from('1')) });
    await mlflow.setAlias('r', 'champion', two);
    expect(await resolveForRender(spec('models:/r@champion'), opts)).toEqual({ uri: `models:/r/${two}`, digest: sha(Buffer.from('2')) });

    // Untagged version logged as a directory: needs a download through the proxy, over budget.
    const run = await mlflow.api<{ run: { info: { artifact_uri: string } } }>('runs/get', undefined, { run_id: runId });
    const root = run.run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
    await mlflow.uploadArtifact(`${root}/model/model.onnx`, randomBytes(5000));
    const v = await mlflow.registerVersion('r', `${run.run.info.artifact_uri}/model`, { runId });
    const err = await resolveForRender(spec(`models:/r/${v}`), { ...opts, maxDownloadBytes: 1000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_RESOLVE_TOO_LARGE' });
    const ok = await resolveForRender(spec(`models:/r/${v}`), { ...opts, maxDownloadBytes: 10_000 });
    expect(ok.uri).toBe(`models:/r/${v}`);
    expect(ok.size).toBe(5000);
    expect(JSON.parse(await readFile(join(opts.cacheDir, 'resolve', (await readdir(join(opts.cacheDir, 'resolve')))[0] ?? ''), 'utf8'))).toMatchObject({ uri: `models:/r/${v}`, digest: ok.digest });
  });
});

// The S3 side of the pinning workflow against real MinIO (versioned and unversioned buckets) and a
// real MLflow server: publish (single PUT with a full-object SHA-256, multipart with a composite
// one), lock reading the store's checksum or streaming, and publish → lock → fetch round trips
// through the registry (models:/), including a version whose artifact location is a directory.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMinio, type MinioServer } from './support/minio.js';
import { startMlflow, type MlflowServer } from './support/mlflow.js';
import { runCli } from './support/pin-cli.js';

let minio: MinioServer;
let mlflow: MlflowServer;
let dir: string;
let env: NodeJS.ProcessEnv;

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function spec(uri: string, extra = ''): string {
  return `# pinned by modelpin
apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector
spec:
  model:
    uri: ${uri} # where CI publishes
    format: onnx
  serving:
    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0
    env:
      - {name: MLFLOW_TRACKING_URI, value: "${mlflow.url}"}
  replicas: 1
${extra}`;
}

beforeAll(async () => {
  [minio, mlflow] = await Promise.all([startMinio(), startMlflow()]);
  await minio.createBucket('models', { versioned: true });
  await minio.createBucket('plain');
  dir = await mkdtemp(join(tmpdir(), 'modelpin-pin-s3-'));
  env = { ...process.env, ...minio.env, MLFLOW_TRACKING_URI: mlflow.url };
});

afterAll(async () => {
  await Promise.all([minio?.stop(), mlflow?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('publish + lock on S3', () => {
  it('publish stores a full-object SHA-256; lock pins the versionId from that checksum and tracks the key', async () => {
    const bytes = randomBytes(200_000);
    const model = join(dir, 'a.onnx');
    await writeFile(model, bytes);
    const pub = await runCli(['publish', model, 's3://models/fraud/model.onnx', '-o', 'json'], { env });
    expect(pub.stderr).not.toMatch(/modelpin: /);
    const out = JSON.parse(pub.stdout) as { uri: string; digest: string; size: number; versionId: string; multipart: boolean };
    expect(out).toMatchObject({ digest: sha(bytes), size: bytes.length, multipart: false });
    expect(out.versionId).toBeTruthy();
    expect(out.uri).toBe(`s3://models/fraud/model.onnx?versionId=${encodeURIComponent(out.versionId)}`);
    const head = await minio.client.send(new HeadObjectCommand({ Bucket: 'models', Key: 'fraud/model.onnx', ChecksumMode: 'ENABLED' }));
    expect(Buffer.from(head.ChecksumSHA256 ?? '', 'base64').toString('hex')).toBe(sha(bytes).slice(7));

    const file = join(dir, 's3.yaml');
    await writeFile(file, spec('s3://models/fraud/model.onnx'));
    const lock = await runCli(['lock', file, '-o', 'json'], { env });
    expect(lock.stderr).not.toMatch(/modelpin: /);
    expect(JSON.parse(lock.stdout)).toMatchObject({ uri: out.uri, digest: sha(bytes), size: bytes.length, digestSource: 's3-checksum' });
    const locked = await readFile(file, 'utf8');
    expect(locked).toContain(`    uri: ${out.uri} # where CI publishes\n    digest: ${sha(bytes)}\n    size: ${bytes.length}\n`);
    expect(locked).toContain('modelpin.dev/track: s3://models/fraud/model.onnx');

    // A new object version under the same key: the spec still names the old one until re-locked.
    expect((await runCli(['lock', file, '--check'], { env })).code).toBe(0);
    const bytes2 = randomBytes(1000);
    await writeFile(model, bytes2);
    await runCli(['publish', model, 's3://models/fraud/model.onnx'], { env });
    const stale = await runCli(['lock', file, '--check'], { env });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/MODELPIN_E_LOCK_STALE/);
    expect(await readFile(file, 'utf8')).toBe(locked);
  });

  it('a multipart (composite-checksum) object is hashed by streaming, never trusted as a full-object SHA-256', async () => {
    const bytes = randomBytes(11 * 1024 * 1024);
    const model = join(dir, 'big.onnx');
    await writeFile(model, bytes);
    const pub = await runCli(['publish', model, 's3://models/big/model.onnx', '--multipart-threshold', String(1024 * 1024), '-o', 'json'], { env });
    expect(pub.stderr).not.toMatch(/modelpin: /);
    expect(JSON.parse(pub.stdout)).toMatchObject({ multipart: true, digest: sha(bytes), size: bytes.length });
    const head = await minio.client.send(new HeadObjectCommand({ Bucket: 'models', Key: 'big/model.onnx', ChecksumMode: 'ENABLED' }));
    // Composite: not the SHA-256 of the object (MinIO/S3 write it as <b64>-<parts> or type COMPOSITE).
    if (head.ChecksumSHA256) expect(Buffer.from(head.ChecksumSHA256.replace(/-\d+$/, ''), 'base64').toString('hex')).not.toBe(sha(bytes).slice(7));

    const file = join(dir, 'big.yaml');
    await writeFile(file, spec('s3://models/big/model.onnx'));
    const lock = await runCli(['lock', file, '-o', 'json'], { env });
    expect(lock.stderr).not.toMatch(/modelpin: /);
    expect(JSON.parse(lock.stdout)).toMatchObject({ digest: sha(bytes), size: bytes.length, digestSource: 'download' });
  });

  it('an unversioned bucket keeps the URI and pins the streamed digest', async () => {
    const bytes = randomBytes(5000);
    await minio.putObject('plain', 'm.onnx', bytes);
    const file = join(dir, 'plain.yaml');
    await writeFile(file, spec('s3://plain/m.onnx'));
    const lock = await runCli(['lock', file], { env });
    expect(lock.stderr).not.toMatch(/modelpin: /);
    const locked = await readFile(file, 'utf8');
    expect(locked).toContain(`    uri: s3://plain/m.onnx # where CI publishes\n    digest: ${sha(bytes)}\n    size: 5000\n`);
    expect(locked).not.toContain('modelpin.dev/track');
  });
});

describe('publish --register → lock → fetch through the MLflow registry', () => {
  it('registers the uploaded object version (tagged with its digest), pins the spec, and the sidecar fetches and verifies it', async () => {
    const bytes = randomBytes(30_000);
    const model = join(dir, 'reg.onnx');
    await writeFile(model, bytes);
    const runId = await mlflow.createRun({ accuracy: 0.96 });
    const file = join(dir, 'reg.yaml');
    const gates = `  gates:\n    mlflow:\n      trackingUri: ${mlflow.url}\n      metrics:\n        accuracy: {min: 0.9}\n`;
    await writeFile(file, spec('models:/fraud-reg@champion', gates));
    const pub = await runCli(
      ['publish', model, 's3://models/reg/model.onnx', '--register', 'fraud-reg', '--run-id', runId, '--alias', 'champion', '--pin', file, '-o', 'json'],
      { env },
    );
    expect(pub.stderr).not.toMatch(/modelpin: /);
    const out = JSON.parse(pub.stdout) as { uri: string; modelUri: string; modelVersion: string; pinned: { changed: boolean } };
    expect(out.modelUri).toBe('models:/fraud-reg/1');
    expect(out.pinned.changed).toBe(true);
    const mv = await mlflow.api<{ model_version: { source: string; run_id: string; tags: { key: string; value: string }[] } }>('model-versions/get', undefined, { name: 'fraud-reg', version: '1' });
    expect(mv.model_version.source).toBe(out.uri);
    expect(mv.model_version.run_id).toBe(runId);
    expect(mv.model_version.tags).toEqual(expect.arrayContaining([{ key: 'modelpin.digest', value: sha(bytes) }, { key: 'modelpin.size', value: String(bytes.length) }]));
    const pinned = await readFile(file, 'utf8');
    expect(pinned).toContain(`    uri: models:/fraud-reg/1 # where CI publishes\n    digest: ${sha(bytes)}\n    size: ${bytes.length}\n`);

    // lock agrees (digest from the tag, gates pass) and changes nothing.
    const lock = await runCli(['lock', file], { env });
    expect(lock.stderr).not.toMatch(/modelpin: /);
    expect(lock.stdout).toMatch(/up to date/);
    expect(await readFile(file, 'utf8')).toBe(pinned);

    // The sidecar resolves models:/fraud-reg/1 → the exact S3 object version and verifies the pin.
    const cache = join(dir, 'cache');
    const fetched = await runCli(['fetch', '--uri', 'models:/fraud-reg/1', '--digest', sha(bytes), '--cache-dir', cache], { env });
    expect(fetched.code).toBe(0);
    const path = fetched.stdout.trim();
    expect(Buffer.compare(await readFile(path), bytes)).toBe(0);

    // A wrong pin is refused even though the registry resolves fine.
    const wrong = await runCli(['fetch', '--uri', 'models:/fraud-reg/1', '--digest', sha(randomBytes(8)), '--cache-dir', join(dir, 'cache2')], { env });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/MODELPIN_E_DIGEST_MISMATCH/);

    // An alias at fetch time works, with a warning that it should be pinned.
    const alias = await runCli(['fetch', '--uri', 'models:/fraud-reg@champion', '--digest', sha(bytes), '--cache-dir', join(dir, 'cache3')], { env });
    expect(alias.code).toBe(0);
    expect(alias.stderr).toMatch(/moving MLflow reference/);
  });

  it('a version logged as a directory (mlflow-artifacts) is locked and fetched as its model.onnx through the artifact proxy', async () => {
    const bytes = randomBytes(12_345);
    const runId = await mlflow.createRun({});
    const run = await mlflow.api<{ run: { info: { artifact_uri: string } } }>('runs/get', undefined, { run_id: runId });
    const root = run.run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
    await mlflow.uploadArtifact(`${root}/model/model.onnx`, bytes);
    await mlflow.uploadArtifact(`${root}/model/MLmodel`, new TextEncoder().encode('flavors: {onnx: {}}\n'));
    const version = await mlflow.registerVersion('logged', `${run.run.info.artifact_uri}/model`, { runId });

    const file = join(dir, 'logged.yaml');
    await writeFile(file, spec(`models:/logged/${version}`));
    const lock = await runCli(['lock', file, '-o', 'json'], { env });
    expect(lock.stderr).not.toMatch(/modelpin: /);
    expect(JSON.parse(lock.stdout)).toMatchObject({ digest: sha(bytes), size: bytes.length, digestSource: 'download' });

    // No S3 here: the bytes come through the tracking server's artifact proxy.
    const proxyEnv = { ...process.env, MLFLOW_TRACKING_URI: mlflow.url };
    const fetched = await runCli(['fetch', '--uri', `models:/logged/${version}`, '--digest', sha(bytes), '--cache-dir', join(dir, 'cache4')], { env: proxyEnv });
    expect(fetched.stderr).not.toMatch(/MODELPIN_E_/);
    expect(fetched.code).toBe(0);
    expect(Buffer.compare(await readFile(fetched.stdout.trim()), bytes)).toBe(0);
  });
});

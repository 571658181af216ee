// The S3 side of the pinning workflow against real MinIO (versioned and unversioned buckets) and a
// real MLflow server: publish (single PUT with a full-object SHA-256, multipart with a composite
// one), lock reading the store's checksum or streaming, and publish → lock → fetch round trips
// through the registry (models:/), including a version whose artifact location is a directory.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
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

describe('publish --pin: gates before side effects, and the same pin as lock', () => {
  const gates = () => `  gates:\n    mlflow:\n      trackingUri: ${mlflow.url}\n      metrics:\n        accuracy: {min: 0.9}\n`;
  const versionsUnder = async (prefix: string) =>
    ((await minio.client.send(new ListObjectVersionsCommand({ Bucket: 'models', Prefix: prefix }))).Versions ?? []).map((v) => v.VersionId);
  const registryVersions = async (name: string) =>
    (await mlflow.api<{ model_versions?: { version: string }[] }>('model-versions/search', undefined, { filter: `name='${name}'` })).model_versions?.map((v) => v.version).sort() ?? [];
  const aliasVersion = async (name: string, alias: string) =>
    (await mlflow.api<{ model_version: { version: string } }>('registered-models/alias', undefined, { name, alias })).model_version.version;

  it('a run that fails the gate leaves the bucket, the registry, the alias and the spec untouched', async () => {
    const model = join(dir, 'gated.onnx');
    await writeFile(model, randomBytes(4000));
    const file = join(dir, 'gated.yaml');
    await writeFile(file, spec('models:/fraud-gated@champion', gates()));
    // Version 1 passes and becomes the champion.
    const good = await mlflow.createRun({ accuracy: 0.95 });
    const first = await runCli(['publish', model, 's3://models/gated/model.onnx', '--register', 'fraud-gated', '--run-id', good, '--alias', 'champion', '--pin', file], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const pinned = await readFile(file, 'utf8');
    const objects = await versionsUnder('gated/');
    expect(objects).toHaveLength(1);

    // Version 2's run misses the threshold: refused before anything is uploaded or registered.
    await writeFile(model, randomBytes(4000));
    const bad = await mlflow.createRun({ accuracy: 0.5 });
    const r = await runCli(['publish', model, 's3://models/gated/model.onnx', '--register', 'fraud-gated', '--run-id', bad, '--alias', 'champion', '--pin', file], { env });
    expect(r.code).toBe(1);
    expect(await registryVersions('fraud-gated')).toEqual(['1']);
    expect(await aliasVersion('fraud-gated', 'champion')).toBe('1');
    expect(await versionsUnder('gated/')).toEqual(objects);
    expect(await readFile(file, 'utf8')).toBe(pinned);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/MODELPIN_E_GATE_FAILED: promotion gate failed for .*gated\.onnx \(to be published as a new version of models:\/fraud-gated\) \(run \w+\); refusing to publish: nothing was uploaded, registered or pinned/);
    expect(r.stderr).toMatch(/accuracy\s+0\.5\s+>= 0\.9\s+FAIL \(below min\)/);
  });

  it('a run that does not exist is refused before the upload', async () => {
    const model = join(dir, 'norun.onnx');
    await writeFile(model, randomBytes(100));
    const r = await runCli(['publish', model, 's3://models/norun/model.onnx', '--register', 'fraud-norun', '--run-id', 'f'.repeat(32)], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MODELPIN_E_USAGE: --run-id f+: no such run on .*; nothing was uploaded/);
    expect(await versionsUnder('norun/')).toEqual([]);
  });

  it('a failure after the upload says exactly what had been created', async () => {
    const model = join(dir, 'late.onnx');
    await writeFile(model, randomBytes(100));
    // MLflow refuses the reserved alias "latest", after the upload and the registration.
    const r = await runCli(['publish', model, 's3://models/late/model.onnx', '--register', 'fraud-late', '--alias', 'latest'], { env });
    expect(r.code).toBe(1);
    const [versionId] = await versionsUnder('late/');
    expect(r.stderr).toContain(
      `(publish had already uploaded s3://models/late/model.onnx?versionId=${encodeURIComponent(versionId!)}, then registered models:/fraud-late/1; nothing else was changed)`,
    );
    expect(r.stderr).toMatch(/MODELPIN_E_MLFLOW/);
  });

  it('writes the same pin as lock, alias tracking included, so lock --check notices when the alias moves', async () => {
    const model = join(dir, 'tracked.onnx');
    await writeFile(model, randomBytes(3000));
    const run = await mlflow.createRun({ accuracy: 0.97 });
    const viaPublish = join(dir, 'tracked-publish.yaml');
    const viaLock = join(dir, 'tracked-lock.yaml');
    await writeFile(viaPublish, spec('models:/fraud-tracked@champion', gates()));
    await writeFile(viaLock, spec('models:/fraud-tracked@champion', gates()));
    const pub = await runCli(['publish', model, 's3://models/tracked/model.onnx', '--register', 'fraud-tracked', '--run-id', run, '--alias', 'champion', '--pin', viaPublish, '-o', 'json'], { env });
    expect(pub.stderr).toBe('');
    const out = JSON.parse(pub.stdout) as { pinned: { changes: { field: string; to?: string }[] } };
    expect(out.pinned.changes).toContainEqual({ field: 'metadata.annotations["modelpin.dev/track"]', to: 'models:/fraud-tracked@champion' });
    const lock = await runCli(['lock', viaLock], { env });
    expect(lock.stderr).toBe('');
    const published = await readFile(viaPublish, 'utf8');
    expect(published).toBe(await readFile(viaLock, 'utf8'));
    expect(published).toContain('    modelpin.dev/track: models:/fraud-tracked@champion\n');
    expect(published).toContain('    uri: models:/fraud-tracked/1 # where CI publishes\n');
    expect((await runCli(['lock', viaPublish, '--check'], { env })).code).toBe(0);

    // The alias moves (a new version published without --pin): the committed pin is now stale.
    await writeFile(model, randomBytes(3000));
    const moved = await runCli(['publish', model, 's3://models/tracked/model.onnx', '--register', 'fraud-tracked', '--run-id', run, '--alias', 'champion'], { env });
    expect(moved.code).toBe(0);
    const stale = await runCli(['lock', viaPublish, '--check'], { env });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/MODELPIN_E_LOCK_STALE[\s\S]*spec\.model\.uri: models:\/fraud-tracked\/1 -> models:\/fraud-tracked\/2/);
  });

  it('without --alias the new version itself is pinned, and a previously tracked alias is dropped as lock --uri would', async () => {
    const model = join(dir, 'plainver.onnx');
    await writeFile(model, randomBytes(500));
    const run = await mlflow.createRun({ accuracy: 0.99 });
    const file = join(dir, 'plainver.yaml');
    await writeFile(file, spec('models:/fraud-plainver@champion', gates()));
    const r = await runCli(['publish', model, 's3://models/plainver/model.onnx', '--register', 'fraud-plainver', '--run-id', run, '--pin', file], { env });
    expect(r.stderr).toBe('');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('    uri: models:/fraud-plainver/1 # where CI publishes\n');
    expect(text).not.toContain('modelpin.dev/track');
    expect((await runCli(['lock', file, '--check'], { env })).code).toBe(0);
  });
});

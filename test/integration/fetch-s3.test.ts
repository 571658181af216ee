// fetchArtifact against a real MinIO: plain, versioned (pinned by versionId), multipart-uploaded
// large object through the parallel ranged path, static keys from a credentials dir, wrong
// credentials, missing key.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, fetchArtifact } from '../../sidecar/fetch/index.js';
import { createLogger } from '../../sidecar/log.js';
import { startMinio, type MinioServer } from './support/minio.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let minio: MinioServer;
let dir: string;

beforeAll(async () => {
  minio = await startMinio();
  dir = await mkdtemp(join(tmpdir(), 'modelpin-fetch-s3-'));
  await minio.createBucket('models');
  await minio.createBucket('versioned', { versioned: true });
});

afterAll(async () => {
  await minio?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cache = async (name: string) => join(dir, name);

describe('fetch from S3 (MinIO)', () => {
  it('fetches a plain object, then reuses the cache without touching the network', async () => {
    const body = randomBytes(300_000);
    await minio.putObject('models', 'plain/model.onnx', body);
    const cacheDir = await cache('plain');
    const r1 = await fetchArtifact({ uri: 's3://models/plain/model.onnx', digest: sha(body), cacheDir, env: minio.env, progress: false });
    expect(r1.cached).toBe(false);
    expect(r1.bytes).toBe(body.length);
    expect(r1.path).toBe(join(cacheDir, 'sha256', sha(body).slice(7)));
    expect((await readFile(r1.path)).equals(body)).toBe(true);
    // Second run with an endpoint that cannot answer: only the cache can satisfy it.
    const offline = { ...minio.env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' };
    const r2 = await fetchArtifact({ uri: 's3://models/plain/model.onnx', digest: sha(body), cacheDir, env: offline, progress: false });
    expect(r2.cached).toBe(true);
    expect(r2.downloadedBytes).toBe(0);
    expect(r2.path).toBe(r1.path);
  });

  it('fetches the version named by ?versionId=, not the latest one', async () => {
    const v1 = Buffer.from('version one of the model');
    const v2 = Buffer.from('version two of the model, newer');
    const { versionId } = await minio.putObject('versioned', 'm.onnx', v1);
    await minio.putObject('versioned', 'm.onnx', v2);
    expect(versionId).toBeTruthy();
    const uri = `s3://versioned/m.onnx?versionId=${encodeURIComponent(versionId!)}`;
    const r = await fetchArtifact({ uri, digest: sha(v1), cacheDir: await cache('versioned'), env: minio.env, progress: false });
    expect((await readFile(r.path)).equals(v1)).toBe(true);
    // Without the versionId the latest bytes come back and the v1 pin does not match.
    await expect(fetchArtifact({ uri: 's3://versioned/m.onnx', digest: sha(v1), cacheDir: await cache('versioned-latest'), env: minio.env, progress: false })).rejects.toMatchObject({
      code: 'MODELPIN_E_DIGEST_MISMATCH',
    });
  });

  it('fetches a multipart-uploaded large object with parallel ranged GETs', async () => {
    const body = randomBytes(24 * 1024 * 1024 + 12345);
    await minio.putObject('models', 'large/model.onnx', body, { partSize: 5 * 1024 * 1024 });
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const r = await fetchArtifact({
      uri: 's3://models/large/model.onnx',
      digest: sha(body),
      cacheDir: await cache('large'),
      env: minio.env,
      progress: false,
      log,
      partSize: 4 * 1024 * 1024,
      concurrency: 4,
    });
    expect(r.bytes).toBe(body.length);
    expect((await readFile(r.path)).equals(body)).toBe(true);
    const parallel = lines.map((l) => JSON.parse(l) as { msg: string; parts?: number }).find((l) => l.msg === 'parallel ranged download');
    expect(parallel?.parts).toBe(7);
    // digestOf (for `modelpin lock`) takes the same path and agrees.
    expect(await digestOf('s3://models/large/model.onnx', { env: { ...minio.env, MODELPIN_FETCH_PART_SIZE: String(4 * 1024 * 1024) } })).toEqual({ digest: sha(body), size: body.length });
  });

  it('reads static keys from a mounted credentials directory', async () => {
    const body = randomBytes(1000);
    await minio.putObject('models', 'creds/model.onnx', body);
    const creds = join(dir, 'creds');
    await mkdir(creds, { recursive: true });
    await writeFile(join(creds, 'AWS_ACCESS_KEY_ID'), minio.accessKey + '\n');
    await writeFile(join(creds, 'AWS_SECRET_ACCESS_KEY'), minio.secretKey + '\n');
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...noKeys } = minio.env;
    const r = await fetchArtifact({ uri: 's3://models/creds/model.onnx', digest: sha(body), cacheDir: await cache('creds'), credentialsDir: creds, env: noKeys, progress: false });
    expect((await readFile(r.path)).equals(body)).toBe(true);
  });

  it('fails at once with MODELPIN_E_FETCH_DENIED on wrong credentials, caching nothing', async () => {
    const body = randomBytes(1000);
    await minio.putObject('models', 'denied/model.onnx', body);
    const cacheDir = await cache('denied');
    const lines: string[] = [];
    const err = await fetchArtifact({
      uri: 's3://models/denied/model.onnx',
      digest: sha(body),
      cacheDir,
      env: { ...minio.env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-key' },
      progress: false,
      log: createLogger({ write: (l) => lines.push(l) }),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_FETCH_DENIED' });
    expect(String((err as Error).message)).toContain('s3://models/denied/model.onnx');
    // Permanent: not retried.
    expect(lines.filter((l) => l.includes('retrying'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'sha256'))).toEqual([]);
  });

  it('checks a cosign-style signature stored next to the object (<key>.sig)', async () => {
    const body = randomBytes(50_000);
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pub = join(dir, 'cosign.pub');
    await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const { versionId } = await minio.putObject('versioned', 'signed/model.onnx', body);
    const uri = `s3://versioned/signed/model.onnx?versionId=${encodeURIComponent(versionId!)}`;
    const cacheDir = await cache('signed');
    await expect(fetchArtifact({ uri, digest: sha(body), cacheDir, env: minio.env, publicKeyPath: pub, progress: false })).rejects.toMatchObject({
      code: 'MODELPIN_E_SIGNATURE',
    });
    await minio.putObject('versioned', 'signed/model.onnx.sig', sign('sha256', body, privateKey).toString('base64'));
    const r = await fetchArtifact({ uri, digest: sha(body), cacheDir, env: minio.env, publicKeyPath: pub, progress: false });
    expect((await readFile(r.path)).equals(body)).toBe(true);
  });

  it('fails with MODELPIN_E_FETCH_NOT_FOUND for a missing key', async () => {
    const err = await fetchArtifact({
      uri: 's3://models/nope/model.onnx',
      digest: sha(Buffer.from('x')),
      cacheDir: await cache('missing'),
      env: minio.env,
      progress: false,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_FETCH_NOT_FOUND' });
    expect(String((err as Error).message)).toContain('s3://models/nope/model.onnx');
  });
});

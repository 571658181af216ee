// The MLflow REST client against a real local HTTP server (port 0): auth headers from the
// credentials dir (winning over env) or env, MLflow's {error_code, message} errors surfacing as
// MODELPIN_E_MLFLOW with the server's message, and `latest` meaning the highest version number.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyDownloadUri, createMlflowClient, MlflowApiError } from '../../../sidecar/sources/mlflow.js';

let server: Server;
let url: string;
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    const u = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/json');
    if (u.pathname.endsWith('/model-versions/get')) {
      res.statusCode = 404;
      res.end(JSON.stringify({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Model Version (name=${u.searchParams.get('name')}, version=9) not found` }));
    } else if (u.pathname.endsWith('/registered-models/get-latest-versions')) {
      res.end(JSON.stringify({ model_versions: [{ name: 'm', version: '3', source: 's3://b/3' }, { name: 'm', version: '12', source: 's3://b/12' }] }));
    } else if (u.pathname.endsWith('/runs/get')) {
      res.end('<html>not mlflow</html>');
    } else {
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('MLflow client', () => {
  it('maps {error_code, message} to MODELPIN_E_MLFLOW with the server message', async () => {
    const c = await createMlflowClient({ trackingUri: url, env: {} });
    const err = await c.getModelVersion('fraud', '9').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err).toMatchObject({ code: 'MODELPIN_E_MLFLOW', errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect((err as Error).message).toContain('Model Version (name=fraud, version=9) not found');
  });

  it('treats a non-JSON answer as an unexpected answer, not a crash', async () => {
    const c = await createMlflowClient({ trackingUri: url, env: {} });
    await expect(c.getRun('r1')).rejects.toMatchObject({ code: 'MODELPIN_E_MLFLOW', message: expect.stringMatching(/unexpected answer/) });
  });

  it('latest = the highest version number, not the last listed', async () => {
    const c = await createMlflowClient({ trackingUri: url, env: {} });
    expect((await c.getLatestVersion('m')).version).toBe('12');
  });

  it('sends a bearer token from the credentials dir in preference to env basic auth', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelpin-mlcreds-'));
    try {
      await writeFile(join(dir, 'MLFLOW_TRACKING_TOKEN'), 'tok-123\n');
      const c = await createMlflowClient({ trackingUri: url, credentialsDir: dir, env: { MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' } });
      await c.setModelVersionTag('m', '1', 'k', 'v');
      expect(seen.at(-1)?.headers.authorization).toBe('Bearer tok-123');
      const basic = await createMlflowClient({ trackingUri: url, env: { MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' } });
      await basic.setModelVersionTag('m', '1', 'k', 'v');
      expect(seen.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('needs a tracking URI and says how to set it', async () => {
    await expect(createMlflowClient({ env: {} })).rejects.toMatchObject({ code: 'MODELPIN_E_MLFLOW', message: expect.stringMatching(/no MLflow tracking server/) });
  });

  it('classifies download locations', () => {
    expect(classifyDownloadUri('mlflow-artifacts:/1/abc/artifacts/model')).toEqual({ kind: 'mlflow-artifacts', path: '1/abc/artifacts/model' });
    expect(classifyDownloadUri('mlflow-artifacts://host:5000/1/abc/artifacts/model')).toEqual({ kind: 'mlflow-artifacts', path: '1/abc/artifacts/model' });
    expect(classifyDownloadUri('s3://b/k?versionId=1')).toEqual({ kind: 'uri', uri: 's3://b/k?versionId=1' });
    expect(() => classifyDownloadUri('gs://b/k')).toThrow(/cannot fetch from/);
  });
});

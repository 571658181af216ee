// A real MinIO server for integration tests, on 127.0.0.1 with a temp data dir.
//
//   const minio = await startMinio();              // in beforeAll (fails clearly if no binary)
//   await minio.createBucket('models', { versioned: true });
//   const { versionId } = await minio.putObject('models', 'm.onnx', bytes);
//   minio.env            // AWS_* + MODELPIN_S3_FORCE_PATH_STYLE for modelpin / child processes
//   minio.client         // an S3Client (admin keys) for setup and assertions
//   await minio.stop();  // in afterAll: kills the server, removes the data dir
//
// Binary: env MODELPIN_MINIO_BIN, else /root/.cache/modelpin/bin/minio, else `minio` on PATH.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client } from '../../../sidecar/sources/s3-client.js';
import { freePort } from '../../tools/net.js';

export interface MinioServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Environment that points modelpin (or the AWS CLI, KServe) at this server. */
  readonly env: Record<string, string>;
  readonly client: S3Client;
  /** The server's process id (benchmarks read its CPU time from /proc). */
  readonly pid: number;
  createBucket(name: string, opts?: { versioned?: boolean }): Promise<void>;
  /** Upload; with `partSize` a multipart upload (lib-storage) is used. */
  putObject(bucket: string, key: string, body: Buffer | string | Readable, opts?: { partSize?: number }): Promise<{ versionId?: string; etag?: string }>;
  stop(): Promise<void>;
}

export function findMinioBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MODELPIN_MINIO_BIN) {
    if (!existsSync(env.MODELPIN_MINIO_BIN)) throw new Error(`MODELPIN_MINIO_BIN=${env.MODELPIN_MINIO_BIN} does not exist`);
    return env.MODELPIN_MINIO_BIN;
  }
  const cached = '/root/.cache/modelpin/bin/minio';
  if (existsSync(cached)) return cached;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'minio');
    if (dir && existsSync(p)) return p;
  }
  throw new Error(
    'MinIO binary not found: set MODELPIN_MINIO_BIN, or build it into /root/.cache/modelpin/bin/minio (`GOBIN=/root/.cache/modelpin/bin go install github.com/minio/minio@latest`), or put `minio` on PATH',
  );
}


export async function startMinio(opts: { timeoutMs?: number } = {}): Promise<MinioServer> {
  const bin = findMinioBinary();
  const dataDir = await mkdtemp(join(tmpdir(), 'modelpin-minio-'));
  const accessKey = 'modelpin-admin';
  const secretKey = 'modelpin-secret-key-123';
  const [port, consolePort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${port}`;
  let log = '';
  const proc: ChildProcess = spawn(bin, ['server', '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, join(dataDir, 'data')], {
    env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  let exited = false;
  proc.once('exit', () => (exited = true));

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`MinIO (${bin}) exited during start-up:\n${log}`);
    try {
      const r = await fetch(`${endpoint}/minio/health/live`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`MinIO did not become live on ${endpoint} within the timeout:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const env = {
    AWS_ACCESS_KEY_ID: accessKey,
    AWS_SECRET_ACCESS_KEY: secretKey,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_S3: endpoint,
    MODELPIN_S3_FORCE_PATH_STYLE: 'true',
  };
  const client = createS3Client({ env });
  return {
    endpoint,
    accessKey,
    secretKey,
    env,
    client,
    pid: proc.pid!,
    async createBucket(name, o = {}) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      if (o.versioned) await client.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
    },
    async putObject(bucket, key, body, o = {}) {
      if (o.partSize !== undefined) {
        const up = new Upload({ client, params: { Bucket: bucket, Key: key, Body: body }, partSize: o.partSize, queueSize: 2 });
        const out = await up.done();
        return { ...(out.VersionId ? { versionId: out.VersionId } : {}), ...(out.ETag ? { etag: out.ETag } : {}) };
      }
      const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      return { ...(out.VersionId ? { versionId: out.VersionId } : {}), ...(out.ETag ? { etag: out.ETag } : {}) };
    },
    async stop() {
      client.destroy();
      if (!exited) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(t);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

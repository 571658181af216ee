// Small pure pieces of the fetch path: backoff, Content-Range parsing, URL redaction,
// credential lookup order, S3 settings, progress output.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY } from '../../../../sidecar/fetch/retry.js';
import { createLogger } from '../../../../sidecar/log.js';
import { createProgress } from '../../../../sidecar/progress.js';
import { httpAuthorization, parseContentRange, redactUrl } from '../../../../sidecar/sources/http.js';
import { s3Settings } from '../../../../sidecar/sources/s3-client.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-pieces-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, scaled by the jitter draw', () => {
    const p = { retries: 6, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, p, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, p, () => 0)).toBe(0);
    expect(backoffDelay(3, p, () => 0.5)).toBe(200);
    expect(DEFAULT_RETRY.retries).toBeGreaterThan(0);
  });
});

describe('parseContentRange', () => {
  it('reads start and total', () => {
    expect(parseContentRange('bytes 100-199/1000')).toEqual({ start: 100, total: 1000 });
    expect(parseContentRange('bytes 0-0/*')).toEqual({ start: 0 });
    expect(parseContentRange('bytes */1000')).toBeUndefined();
    expect(parseContentRange(undefined)).toBeUndefined();
  });
});

describe('redactUrl', () => {
  it('drops query strings (presigned signatures) and user info', () => {
    expect(redactUrl('https://h/b/k?X-Amz-Signature=secret')).toBe('https://h/b/k?…');
    expect(redactUrl('https://h/b/k')).toBe('https://h/b/k');
  });
});

describe('httpAuthorization', () => {
  it('prefers the mounted secret (authorization, then token), then the environment', async () => {
    const creds = join(dir, 'creds');
    await import('node:fs/promises').then((fs) => fs.mkdir(creds));
    expect(httpAuthorization({ env: {} })).toBeUndefined();
    expect(httpAuthorization({ env: { MODELPIN_HTTP_TOKEN: 't1' } })).toBe('Bearer t1');
    expect(httpAuthorization({ env: { MODELPIN_HTTP_TOKEN: 't1', MODELPIN_HTTP_AUTHORIZATION: 'Basic x' } })).toBe('Basic x');
    await writeFile(join(creds, 'token'), 'from-secret\n');
    expect(httpAuthorization({ credentialsDir: creds, env: { MODELPIN_HTTP_AUTHORIZATION: 'Basic x' } })).toBe('Bearer from-secret');
    await writeFile(join(creds, 'authorization'), 'Token abc');
    expect(httpAuthorization({ credentialsDir: creds, env: {} })).toBe('Token abc');
  });
});

describe('s3Settings', () => {
  it('follows the AWS conventions', () => {
    expect(s3Settings({})).toEqual({ region: 'us-east-1', forcePathStyle: false });
    expect(s3Settings({ AWS_DEFAULT_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
    expect(s3Settings({ AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'eu-west-1' }).region).toBe('eu-central-1');
    expect(s3Settings({ AWS_ENDPOINT_URL: 'http://a:9000' }).endpoint).toBe('http://a:9000');
    expect(s3Settings({ AWS_ENDPOINT_URL: 'http://a:9000', AWS_ENDPOINT_URL_S3: 'http://s3:9000' }).endpoint).toBe('http://s3:9000');
    expect(s3Settings({ MODELPIN_S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle).toBe(true);
    expect(s3Settings({ MODELPIN_S3_FORCE_PATH_STYLE: '1' }).forcePathStyle).toBe(true);
    expect(s3Settings({ MODELPIN_S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
  });
});

describe('progress', () => {
  it('logs structured lines at an interval when stderr is not a TTY', () => {
    const lines: string[] = [];
    let t = 0;
    const p = createProgress({ mode: 'auto', log: createLogger({ write: (l) => lines.push(l) }), label: 'fetch', stream: { isTTY: false } as NodeJS.WriteStream, now: () => t, logIntervalMs: 1000 });
    p.update(10, 100);
    t = 500;
    p.update(20, 100);
    t = 1500;
    p.update(50, 100);
    p.done();
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; bytes: number; percent: number });
    expect(parsed.map((l) => [l.msg, l.bytes, l.percent])).toEqual([
      ['fetch progress', 10, 10],
      ['fetch progress', 50, 50],
    ]);
  });

  it('draws a bar on a TTY and logs nothing', () => {
    const out: string[] = [];
    const lines: string[] = [];
    let t = 0;
    const stream = { isTTY: true, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
    const p = createProgress({ mode: 'auto', log: createLogger({ write: (l) => lines.push(l) }), label: 'fetch', stream, now: () => t });
    p.update(512 * 1024, 1024 * 1024);
    t = 1000;
    p.update(1024 * 1024, 1024 * 1024);
    p.done();
    expect(lines).toEqual([]);
    expect(out.join('')).toContain('100%');
    expect(out.at(-1)).toBe('\n');
  });

  it('is silent with progress: false', () => {
    const lines: string[] = [];
    const p = createProgress({ mode: false, log: createLogger({ write: (l) => lines.push(l) }), label: 'x' });
    p.update(1, 2);
    p.done();
    expect(lines).toEqual([]);
  });
});

describe('fetchArtifact option checks', () => {
  it('rejects a malformed digest, URI or size before touching anything', async () => {
    await expect(fetchArtifact({ uri: '/x', digest: 'sha256:abc', cacheDir: dir })).rejects.toMatchObject({ code: 'MODELPIN_E_SPEC_DIGEST' });
    await expect(fetchArtifact({ uri: 'ftp://h/x', digest: `sha256:${'0'.repeat(64)}`, cacheDir: dir })).rejects.toMatchObject({ code: 'MODELPIN_E_SPEC_URI' });
    await expect(fetchArtifact({ uri: '/x', digest: `sha256:${'0'.repeat(64)}`, cacheDir: dir, size: -1 })).rejects.toMatchObject({ code: 'MODELPIN_E_USAGE' });
  });
});

// fetchArtifact over HTTPS against a fixture server with its own test CA and injected faults.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchArtifact, type FetchOptions } from '../../sidecar/fetch/index.js';
import { createLogger } from '../../sidecar/log.js';
import { generateTestCa, startFixture, type Fixture, type TestCa } from './support/https-fixture.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fast = { retries: 4, baseDelayMs: 5, maxDelayMs: 20 };

let dir: string;
let ca: TestCa;
let srv: Fixture;
let other: Fixture;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-fetch-https-'));
  ca = await generateTestCa(dir);
  srv = await startFixture({ tls: ca });
  other = await startFixture({ tls: ca });
});
afterAll(async () => {
  await srv?.close();
  await other?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  srv.requests.length = 0;
  other.requests.length = 0;
});

/** A fresh cache dir per call so tests never see each other's entries. */
function opts(uri: string, body: Buffer, extra: Partial<FetchOptions> = {}): FetchOptions {
  return { uri, digest: sha(body), cacheDir: join(dir, `cache-${++n}`), caFile: ca.caFile, env: {}, progress: false, retry: fast, ...extra };
}

async function cacheFiles(cacheDir: string): Promise<string[]> {
  return [...(await readdir(join(cacheDir, 'sha256'))), ...(await readdir(join(cacheDir, 'tmp')))];
}

describe('fetch over HTTPS', () => {
  it('verifies the server with --ca-file and fails with MODELPIN_E_FETCH_TLS without it', async () => {
    const body = randomBytes(50_000);
    srv.route('/ok.onnx', { body });
    const r = await fetchArtifact(opts(srv.url('/ok.onnx'), body));
    expect((await readFile(r.path)).equals(body)).toBe(true);
    const { caFile: _c, ...noCa } = opts(srv.url('/ok.onnx'), body);
    await expect(fetchArtifact(noCa)).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_TLS' });
  });

  it('resumes a truncated body with a Range request', async () => {
    const body = randomBytes(200_000);
    srv.route('/trunc.onnx', { body, faults: [{ kind: 'truncate', after: 70_000 }] });
    const r = await fetchArtifact(opts(srv.url('/trunc.onnx'), body));
    expect((await readFile(r.path)).equals(body)).toBe(true);
    const ranges = srv.requestsFor('/trunc.onnx').map((q) => q.headers.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(String(ranges[1]))![0])).toBeGreaterThan(0);
    expect(srv.requestsFor('/trunc.onnx')[1]!.headers['if-range']).toBe('"v1"');
  });

  it('resumes after a connection reset mid-body', async () => {
    const body = randomBytes(300_000);
    srv.route('/reset.onnx', { body, faults: [{ kind: 'reset', after: 100_000 }, { kind: 'reset', after: 50_000 }] });
    const r = await fetchArtifact(opts(srv.url('/reset.onnx'), body));
    expect((await readFile(r.path)).equals(body)).toBe(true);
    expect(srv.requestsFor('/reset.onnx')).toHaveLength(3);
  });

  it('restarts the hash when the server ignores the Range header', async () => {
    const body = randomBytes(150_000);
    srv.route('/norange.onnx', { body, ignoreRange: true, faults: [{ kind: 'truncate', after: 60_000 }] });
    const r = await fetchArtifact(opts(srv.url('/norange.onnx'), body));
    expect((await readFile(r.path)).equals(body)).toBe(true);
    expect(srv.requestsFor('/norange.onnx')[1]!.headers.range).toMatch(/^bytes=/);
  });

  it('retries 503 with backoff, then succeeds', async () => {
    const body = randomBytes(10_000);
    srv.route('/busy.onnx', { body, faults: [{ kind: 'status', status: 503 }, { kind: 'status', status: 503 }] });
    const r = await fetchArtifact(opts(srv.url('/busy.onnx'), body));
    expect(r.bytes).toBe(body.length);
    expect(srv.requestsFor('/busy.onnx')).toHaveLength(3);
  });

  it('gives up with MODELPIN_E_FETCH_NETWORK when 5xx persists', async () => {
    const body = randomBytes(10);
    srv.route('/down.onnx', { body, status: 500 });
    const err = await fetchArtifact(opts(srv.url('/down.onnx'), body)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_FETCH_NETWORK' });
    expect(String((err as Error).message)).toContain('HTTP 500');
    expect(srv.requestsFor('/down.onnx')).toHaveLength(fast.retries + 1);
  });

  it('treats a stalled body as transient (idle timeout) and resumes; a slow body completes', async () => {
    const body = randomBytes(40_000);
    srv.route('/stall.onnx', { body, faults: [{ kind: 'stall', after: 10_000 }] });
    const r = await fetchArtifact(opts(srv.url('/stall.onnx'), body, { idleTimeoutMs: 400 }));
    expect((await readFile(r.path)).equals(body)).toBe(true);
    expect(srv.requestsFor('/stall.onnx')[1]!.headers.range).toBe('bytes=10000-');
    srv.route('/slow.onnx', { body, bytesPerSecond: 100_000 });
    const s = await fetchArtifact(opts(srv.url('/slow.onnx'), body, { idleTimeoutMs: 2_000 }));
    expect(s.bytes).toBe(body.length);
  });

  it('bounds the total time', async () => {
    const body = randomBytes(40_000);
    srv.route('/forever.onnx', { body, bytesPerSecond: 2_000 });
    await expect(fetchArtifact(opts(srv.url('/forever.onnx'), body, { totalTimeoutMs: 300 }))).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_NETWORK' });
  });

  it('fails at once on 404 and 403, naming the URL', async () => {
    const body = randomBytes(10);
    const e404 = await fetchArtifact(opts(srv.url('/missing.onnx'), body)).catch((e: unknown) => e);
    expect(e404).toMatchObject({ code: 'MODELPIN_E_FETCH_NOT_FOUND' });
    expect(String((e404 as Error).message)).toContain('/missing.onnx');
    srv.route('/forbidden.onnx', { status: 403 });
    await expect(fetchArtifact(opts(srv.url('/forbidden.onnx'), body))).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_DENIED' });
    expect(srv.requestsFor('/missing.onnx')).toHaveLength(1);
    expect(srv.requestsFor('/forbidden.onnx')).toHaveLength(1);
  });

  it('detects a redirect loop and too many redirects', async () => {
    srv.route('/loop-a', { redirect: '/loop-b' });
    srv.route('/loop-b', { redirect: '/loop-a' });
    const err = await fetchArtifact(opts(srv.url('/loop-a'), Buffer.from('x'))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_FETCH_REDIRECT' });
    expect(String((err as Error).message)).toContain('loop');
    for (let i = 0; i < 8; i++) srv.route(`/hop${i}`, { redirect: `/hop${i + 1}` });
    await expect(fetchArtifact(opts(srv.url('/hop0'), Buffer.from('x')))).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_REDIRECT' });
  });

  it('never forwards credentials to another host on redirect', async () => {
    const body = randomBytes(5_000);
    other.route('/blob', { body });
    srv.route('/redirected.onnx', { redirect: other.url('/blob') });
    const creds = join(dir, 'token-creds');
    await mkdir(creds, { recursive: true });
    await writeFile(join(creds, 'token'), 's3cr3t-token\n');
    const r = await fetchArtifact(opts(srv.url('/redirected.onnx'), body, { credentialsDir: creds }));
    expect((await readFile(r.path)).equals(body)).toBe(true);
    expect(srv.requestsFor('/redirected.onnx')[0]!.headers.authorization).toBe('Bearer s3cr3t-token');
    expect(other.requests.length).toBeGreaterThan(0);
    for (const q of other.requests) expect(q.headers.authorization).toBeUndefined();
  });

  it('sends MODELPIN_HTTP_AUTHORIZATION verbatim from the environment', async () => {
    const body = randomBytes(100);
    srv.route('/auth.onnx', { body });
    await fetchArtifact(opts(srv.url('/auth.onnx'), body, { env: { MODELPIN_HTTP_AUTHORIZATION: 'Basic dXNlcjpwYXNz' } }));
    expect(srv.requestsFor('/auth.onnx')[0]!.headers.authorization).toBe('Basic dXNlcjpwYXNz');
  });

  it('refuses a redirect from https to plain http', async () => {
    const plain = await startFixture();
    try {
      plain.route('/x', { body: Buffer.from('x') });
      srv.route('/downgrade', { redirect: plain.url('/x') });
      await expect(fetchArtifact(opts(srv.url('/downgrade'), Buffer.from('x')))).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_REDIRECT' });
      expect(plain.requests).toHaveLength(0);
    } finally {
      await plain.close();
    }
  });

  it('refuses a download larger than --size: from Content-Length, and from the running count', async () => {
    const body = randomBytes(20_000);
    srv.route('/big.onnx', { body });
    const o = opts(srv.url('/big.onnx'), body, { size: 10_000 });
    await expect(fetchArtifact(o)).rejects.toMatchObject({ code: 'MODELPIN_E_SIZE_EXCEEDED' });
    srv.route('/big-chunked.onnx', { body, chunked: true });
    const c = opts(srv.url('/big-chunked.onnx'), body, { size: 10_000 });
    await expect(fetchArtifact(c)).rejects.toMatchObject({ code: 'MODELPIN_E_SIZE_EXCEEDED' });
    expect(await cacheFiles(o.cacheDir)).toEqual([]);
    expect(await cacheFiles(c.cacheDir)).toEqual([]);
  });

  it('rejects a tampered artifact, naming both digests, and caches nothing', async () => {
    const body = randomBytes(30_000);
    const tampered = Buffer.from(body);
    tampered[12_345] = (tampered[12_345] ?? 0) ^ 0xff;
    srv.route('/tampered.onnx', { body: tampered });
    const o = opts(srv.url('/tampered.onnx'), body);
    const err = await fetchArtifact(o).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODELPIN_E_DIGEST_MISMATCH' });
    expect(String((err as Error).message)).toContain(sha(body));
    expect(String((err as Error).message)).toContain(sha(tampered));
    expect(await cacheFiles(o.cacheDir)).toEqual([]);
  });

  it('logs progress lines when not on a TTY', async () => {
    const body = randomBytes(64_000);
    srv.route('/progress.onnx', { body });
    const lines: string[] = [];
    await fetchArtifact(opts(srv.url('/progress.onnx'), body, { progress: 'auto', log: createLogger({ write: (l) => lines.push(l) }) }));
    const p = lines.map((l) => JSON.parse(l) as { msg: string; bytes?: number }).filter((l) => l.msg === 'fetch progress');
    expect(p.length).toBeGreaterThan(0);
  });
});

// Retries end. A server that truncates or resets every response and ignores Range makes the
// engine restart from byte 0 each time; bytes received again are no progress, so the failure
// count must keep growing until the bound (seen in the wild: 658 GETs in 120 s, every warning
// "attempt":1). Real progress (a response that gets further than any before) still resets it.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { createLogger } from '../../../../sidecar/log.js';
import { startHostile, type Plan } from '../../../tools/hostile-http.js';

const RETRIES = 4;
const body = randomBytes(3 * 1024 * 1024);
const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-retry-bound-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fetchFrom(plan: (req: { n: number; rangeStart?: number }) => Plan) {
  const srv = await startHostile(body, plan);
  const lines: string[] = [];
  const cacheDir = join(dir, `c${++n}`);
  try {
    const result = await fetchArtifact({
      uri: srv.url('/m.onnx'),
      digest,
      cacheDir,
      env: {},
      progress: false,
      retry: { retries: RETRIES, baseDelayMs: 1, maxDelayMs: 2 },
      idleTimeoutMs: 2_000,
      // Far beyond what the bounded retries need: reaching it means the bound did not hold.
      totalTimeoutMs: 20_000,
      log: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
    }).catch((e: unknown) => e);
    const attempts = lines.map((l) => JSON.parse(l) as { msg: string; attempt?: number }).filter((l) => l.msg === 'fetch attempt failed; retrying').map((l) => l.attempt);
    return { result, requests: srv.requests.length, attempts, cacheDir };
  } finally {
    await srv.close();
  }
}

describe('retry bound against a hostile server that ignores Range', () => {
  for (const kind of ['truncate', 'reset'] as const) {
    it(`gives up with MODELPIN_E_FETCH_NETWORK when every response is cut (${kind}) at the same byte`, async () => {
      const r = await fetchFrom(() => ({ kind, after: 100_000, ignoreRange: true }));
      expect(r.result).toMatchObject({ code: 'MODELPIN_E_FETCH_NETWORK' });
      expect((r.result as Error).message).toContain(`after ${RETRIES + 1} failed attempts`);
      // The first response is progress; every later one restarts at 0 and dies at the same byte.
      expect(r.requests).toBe(RETRIES + 1);
      expect(r.attempts).toEqual([1, 2, 3, 4]);
      expect(await readdir(join(r.cacheDir, 'sha256'))).toEqual([]);
      expect(await readdir(join(r.cacheDir, 'tmp'))).toEqual([]);
    });
  }

  it('gives up when the cut point moves around but never beyond the furthest so far', async () => {
    const r = await fetchFrom((req) => ({ kind: 'reset', after: req.n === 1 ? 300_000 : 1_000 + ((req.n * 7_919) % 200_000), ignoreRange: true }));
    expect(r.result).toMatchObject({ code: 'MODELPIN_E_FETCH_NETWORK' });
    expect(r.requests).toBe(RETRIES + 1);
  });

  it('still counts real progress: each response getting further resets the count, and the fetch completes', async () => {
    // Steps of 256 KiB: more than the client may drop on a cut (what it buffered but had not
    // handed out yet), so every response really keeps bytes past the previous high-water mark.
    const r = await fetchFrom((req) => (req.n <= 11 ? { kind: 'truncate', after: req.n * 256 * 1024, ignoreRange: true } : { kind: 'ok', ignoreRange: true }));
    expect(r.result).toMatchObject({ digest, cached: false });
    expect((await readFile((r.result as { path: string }).path)).equals(body)).toBe(true);
    expect(r.attempts).toEqual(Array.from({ length: 11 }, () => 1));
  });

  it('resumes with Range when the server honours it (every response cut short still completes)', async () => {
    const r = await fetchFrom(() => ({ kind: 'reset', after: 512 * 1024 }));
    expect(r.result).toMatchObject({ digest });
    expect(r.requests).toBeGreaterThanOrEqual(Math.ceil(body.length / (512 * 1024)));
  });
});

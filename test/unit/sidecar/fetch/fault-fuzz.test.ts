// Seeded fetch-fault fuzz: a hostile HTTP server on 127.0.0.1 answers each request by a plan
// drawn from a seeded PRNG (truncate, reset, stall, drip, ignore Range, wrong or missing
// Content-Range, 5xx/429, flipped bytes, overlong Content-Length, trailing junk, hang-ups, or
// a good answer). Every fetch must either return the pinned digest (and the right bytes, in
// the file and in modelBytes) or fail with a coded error, within its time bound; it must never
// leave a trusted cache entry with wrong bytes, nor temp litter, nor an uncaught exception.
// The parallel ranged path gets the same treatment with an in-memory source. Bounded, seeded:
// FUZZ_SEED=<n> replays one case.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, type Sink } from '../../../../sidecar/fetch/download.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { silentLogger } from '../../../../sidecar/log.js';
import { RetryableError, type Opened, type Source } from '../../../../sidecar/sources/types.js';
import { ModelpinError } from '../../../../src/errors.js';
import { seeded, startHostile, type Plan } from '../../../tools/hostile-http.js';

const CASES = 48;
const PARALLEL_CASES = 60;
const TOTAL_MS = 3_000;
/** Total budget + retries' last backoff + slack for a loaded CI machine: a hang shows as a miss. */
const BOUND_MS = TOTAL_MS + 7_000;
const CODES = new Set(['MODELPIN_E_FETCH_NETWORK', 'MODELPIN_E_DIGEST_MISMATCH', 'MODELPIN_E_FETCH_NOT_FOUND', 'MODELPIN_E_FETCH_DENIED', 'MODELPIN_E_SIZE_EXCEEDED']);
const only = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

let dir: string;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-fault-fuzz-'));
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await rm(dir, { recursive: true, force: true });
});

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** One request's answer. `hostility` (0..1) is the case's chance of a fault per request. */
function drawPlan(rnd: () => number, size: number, hostility: number): Plan {
  if (rnd() >= hostility) return { kind: 'ok', ...(rnd() < 0.2 ? { ignoreRange: true } : {}) };
  const at = () => Math.floor(rnd() * size);
  const kind = pick(rnd, ['status', 'truncate', 'reset', 'stall', 'drip', 'wrong-range', 'no-content-range', 'corrupt', 'overlong', 'trailing-junk', 'hangup'] as const);
  switch (kind) {
    case 'status':
      return { kind, status: pick(rnd, [500, 502, 503, 504, 429, 408, 404, 403, 416]) };
    case 'truncate':
    case 'reset':
      return { kind, after: at(), ...(rnd() < 0.5 ? { ignoreRange: true } : {}) };
    case 'stall':
      return { kind, after: at() };
    case 'drip':
      return { kind, everyMs: 50 };
    case 'wrong-range':
      return { kind, servedFrom: at() };
    case 'no-content-range':
      return { kind };
    case 'corrupt':
      return { kind, at: at(), ...(rnd() < 0.5 ? { ignoreRange: true } : {}) };
    case 'overlong':
    case 'trailing-junk':
      return { kind, extra: 1 + Math.floor(rnd() * 1000) };
    case 'hangup':
      return { kind };
  }
}

async function cacheInvariant(cacheDir: string, hex: string, body: Buffer): Promise<void> {
  const blob = join(cacheDir, 'sha256', hex);
  if (existsSync(blob)) expect((await readFile(blob)).equals(body), 'a trusted cache entry holds wrong bytes').toBe(true);
  if (existsSync(join(cacheDir, 'sha256'))) expect((await readdir(join(cacheDir, 'sha256'))).filter((n) => n !== hex)).toEqual([]);
  if (existsSync(join(cacheDir, 'tmp'))) expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
}

describe('fetch-fault fuzz over HTTP (seeded)', () => {
  const seeds = only === undefined ? Array.from({ length: CASES }, (_, i) => 1000 + i) : [only];
  it(`${seeds.length} seeded fetches end with the pinned digest or a coded error, in bounded time`, async () => {
    const outcomes: Record<string, number> = {};
    const runCase = async (seed: number) => {
      const rnd = seeded(seed);
      const body = randomBytesSeeded(rnd, 1024 + Math.floor(rnd() * 200 * 1024));
      const hex = createHash('sha256').update(body).digest('hex');
      const hostility = pick(rnd, [0.2, 0.5, 0.8, 1]);
      const planRnd = seeded(seed * 7919);
      const srv = await startHostile(body, () => drawPlan(planRnd, body.length, hostility));
      const cacheDir = join(dir, `http-${seed}`);
      const readModel = rnd() < 0.5;
      const t0 = performance.now();
      try {
        const r = await fetchArtifact({
          uri: srv.url('/m.onnx'),
          digest: `sha256:${hex}`,
          cacheDir,
          env: {},
          progress: false,
          readModel,
          retry: { retries: 4, baseDelayMs: 1, maxDelayMs: 20 },
          idleTimeoutMs: 300,
          totalTimeoutMs: TOTAL_MS,
          ...(rnd() < 0.3 ? { size: body.length } : {}),
        }).catch((e: unknown) => e);
        const ms = performance.now() - t0;
        expect(ms, `seed ${seed}: took ${Math.round(ms)} ms`).toBeLessThan(BOUND_MS);
        if (r instanceof Error) {
          expect(r, `seed ${seed}: uncoded failure ${String(r)}`).toBeInstanceOf(ModelpinError);
          expect(CODES.has((r as ModelpinError).code), `seed ${seed}: ${(r as ModelpinError).code}`).toBe(true);
          outcomes[(r as ModelpinError).code] = (outcomes[(r as ModelpinError).code] ?? 0) + 1;
        } else {
          const ok = r as Awaited<ReturnType<typeof fetchArtifact>>;
          expect(ok.digest).toBe(`sha256:${hex}`);
          expect((await readFile(ok.path)).equals(body), `seed ${seed}: wrong file`).toBe(true);
          if (readModel) expect(Buffer.from(ok.modelBytes!).equals(body), `seed ${seed}: wrong modelBytes`).toBe(true);
          outcomes.ok = (outcomes.ok ?? 0) + 1;
        }
        await cacheInvariant(cacheDir, hex, body);
      } finally {
        await srv.close();
      }
    };
    // A few at a time: real sockets and timers, on a small machine.
    for (let i = 0; i < seeds.length; i += 8) await Promise.all(seeds.slice(i, i + 8).map(runCase));
    expect(uncaught).toEqual([]);
    if (process.env.FUZZ_DEBUG) console.log(outcomes);
    // The fuzz must exercise both ends, or it proves little.
    if (only === undefined) {
      expect(outcomes.ok ?? 0).toBeGreaterThan(5);
      expect(Object.keys(outcomes).length).toBeGreaterThan(2);
    }
  }, 120_000);
});

/** Random bytes from the seeded PRNG (so a seed replays the same artifact). */
function randomBytesSeeded(rnd: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(rnd() * 2 ** 32) >>> 0, Math.min(i, n - 4));
  return b;
}

type PartFault = 'ok' | 'reset' | 'wrong-start' | 'short' | 'long' | 'resize' | 'flip' | 'whole' | 'denied' | 'throw';

/** An in-memory source with readRange whose every call draws a fault from the PRNG. */
function hostileMemory(data: Buffer, rnd: () => number, hostility: number): Source {
  const faults: PartFault[] = ['reset', 'wrong-start', 'short', 'long', 'resize', 'flip', 'whole', 'throw', 'denied'];
  const stream = (bytes: Buffer, cut?: number): AsyncIterable<Uint8Array> => ({
    async *[Symbol.asyncIterator]() {
      for (let off = 0; off < bytes.length; off += 4096) {
        if (cut !== undefined && off >= cut) throw new RetryableError('connection reset');
        await new Promise((r) => setImmediate(r));
        yield bytes.subarray(off, Math.min(bytes.length, off + 4096));
      }
    },
  });
  const serve = (start: number, end: number): Opened => {
    const f: PartFault = rnd() < hostility ? faults[Math.floor(rnd() * (faults.length - (rnd() < 0.9 ? 1 : 0)))]! : 'ok';
    const slice = data.subarray(start, end);
    switch (f) {
      case 'ok':
        return { body: stream(slice), start, totalSize: data.length, destroy() {} };
      case 'reset':
        return { body: stream(slice, Math.floor(rnd() * slice.length)), start, totalSize: data.length, destroy() {} };
      case 'wrong-start':
        return { body: stream(data.subarray(start + 1, end)), start: start + 1, totalSize: data.length, destroy() {} };
      case 'short':
        return { body: stream(slice.subarray(0, Math.floor(rnd() * slice.length))), start, totalSize: data.length, destroy() {} };
      case 'long':
        return { body: stream(data.subarray(start, Math.min(data.length, end + 1 + Math.floor(rnd() * 5000)))), start, totalSize: data.length, destroy() {} };
      case 'resize':
        return { body: stream(slice), start, totalSize: data.length + 1, destroy() {} };
      case 'flip': {
        const copy = Buffer.from(slice);
        if (copy.length > 0) copy[Math.floor(rnd() * copy.length)]! ^= 1;
        return { body: stream(copy), start, totalSize: data.length, destroy() {} };
      }
      case 'whole':
        return { body: stream(data), start: 0, totalSize: data.length, destroy() {} };
      case 'throw':
        throw new RetryableError('503 from the store');
      case 'denied':
        throw new ModelpinError('MODELPIN_E_FETCH_DENIED', 'mem://artifact: denied');
    }
  };
  return {
    describe: 'mem://artifact',
    async stat() {
      return { size: data.length };
    },
    async open(offset) {
      return serve(offset, data.length);
    },
    async readRange(start, end) {
      return serve(start, end);
    },
    async close() {},
  };
}

describe('fetch-fault fuzz over parallel ranged GETs (seeded, in memory)', () => {
  const seeds = only === undefined ? Array.from({ length: PARALLEL_CASES }, (_, i) => 5000 + i) : [only];
  it(`${seeds.length} seeded downloads hash what they wrote and end (right digest, or a coded error)`, async () => {
    let right = 0;
    let wrong = 0;
    let failed = 0;
    for (const seed of seeds) {
      const rnd = seeded(seed);
      const data = randomBytes(20_000 + Math.floor(rnd() * 120_000));
      const hex = createHash('sha256').update(data).digest('hex');
      const out = { buf: Buffer.alloc(0) };
      const sink: Sink = {
        async write(chunks, position) {
          const b = Buffer.concat(chunks);
          if (out.buf.length < position + b.length) out.buf = Buffer.concat([out.buf, Buffer.alloc(position + b.length - out.buf.length)]);
          b.copy(out.buf, position);
        },
        async reset() {
          out.buf = Buffer.alloc(0);
        },
      };
      const t0 = performance.now();
      const r = await download(hostileMemory(data, rnd, pick(rnd, [0.1, 0.3, 0.6])), {
        signal: AbortSignal.timeout(BOUND_MS),
        retry: { retries: 4, baseDelayMs: 0, maxDelayMs: 1 },
        log: silentLogger,
        sink,
        partSize: 8_000 + Math.floor(rnd() * 20_000),
        concurrency: 2 + Math.floor(rnd() * 4),
      }).catch((e: unknown) => e);
      expect(performance.now() - t0, `seed ${seed}`).toBeLessThan(BOUND_MS);
      if (r instanceof Error) {
        expect(r, `seed ${seed}: ${String(r)}`).toBeInstanceOf(ModelpinError);
        expect(CODES.has((r as ModelpinError).code), `seed ${seed}`).toBe(true);
        failed++;
        continue;
      }
      const got = r as { hex: string; bytes: number };
      // Whatever came back, the sink holds exactly the bytes that were hashed.
      expect(createHash('sha256').update(out.buf.subarray(0, got.bytes)).digest('hex'), `seed ${seed}`).toBe(got.hex);
      if (got.hex === hex) right++;
      else wrong++; // a flipped byte: the caller's digest check refuses it
    }
    if (process.env.FUZZ_DEBUG) console.log({ right, wrong, failed });
    expect(right).toBeGreaterThan(10);
    expect(right + wrong + failed).toBe(seeds.length);
  }, 120_000);
});

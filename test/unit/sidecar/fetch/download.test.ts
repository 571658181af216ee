// The download engine's parallel path against an in-memory Source with injected faults (MinIO
// cannot drop a connection on cue; the HTTPS fixture covers the sequential path end to end).
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { download, type Sink } from '../../../../sidecar/fetch/download.js';
import { silentLogger } from '../../../../sidecar/log.js';
import { RetryableError, type Opened, type Source } from '../../../../sidecar/sources/types.js';
import { ModelpinError } from '../../../../src/errors.js';

type Fault = (start: number, end: number) => 'reset' | 'wrong-start' | 'denied' | undefined;

function memorySource(data: Buffer, fault: Fault = () => undefined): Source & { calls: [number, number][] } {
  const calls: [number, number][] = [];
  const body = (start: number, end: number, cut?: number): Opened => {
    async function* gen() {
      for (let off = start; off < end; off += 1000) {
        if (cut !== undefined && off >= cut) throw new RetryableError('connection reset');
        await new Promise((r) => setImmediate(r));
        yield data.subarray(off, Math.min(end, off + 1000));
      }
    }
    return { body: gen(), start, totalSize: data.length, destroy() {} };
  };
  return {
    describe: 'mem://artifact',
    calls,
    async stat() {
      return { size: data.length };
    },
    async open(offset) {
      return body(offset, data.length);
    },
    async readRange(start, end) {
      calls.push([start, end]);
      const f = fault(start, end);
      if (f === 'denied') throw new ModelpinError('MODELPIN_E_FETCH_DENIED', 'mem://artifact: denied');
      if (f === 'wrong-start') return body(start + 1, end);
      return body(start, end, f === 'reset' ? start + Math.floor((end - start) / 2) : undefined);
    },
    async close() {},
  };
}

function memorySink(): Sink & { out: Buffer } {
  const s = {
    out: Buffer.alloc(0),
    async write(chunks: Uint8Array[], position: number) {
      const b = Buffer.concat(chunks);
      const need = position + b.length;
      if (s.out.length < need) s.out = Buffer.concat([s.out, Buffer.alloc(need - s.out.length)]);
      b.copy(s.out, position);
    },
    async reset() {
      s.out = Buffer.alloc(0);
    },
  };
  return s;
}

const opts = (sink?: Sink) => ({
  signal: new AbortController().signal,
  retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 2 },
  log: silentLogger,
  partSize: 10_000,
  concurrency: 3,
  ...(sink ? { sink } : {}),
});

describe('parallel ranged download', () => {
  const data = randomBytes(95_000);
  const hex = createHash('sha256').update(data).digest('hex');

  it('hashes in order and writes every byte at its position', async () => {
    const src = memorySource(data);
    const sink = memorySink();
    const r = await download(src, opts(sink));
    expect(r).toEqual({ hex, bytes: data.length });
    expect(sink.out.equals(data)).toBe(true);
    expect(src.calls).toHaveLength(10);
  });

  it('resumes a part that was reset mid-range from the byte it reached', async () => {
    let failed = 0;
    const src = memorySource(data, (start) => (start === 30_000 && failed++ === 0 ? 'reset' : undefined));
    const sink = memorySink();
    const r = await download(src, opts(sink));
    expect(r.hex).toBe(hex);
    expect(sink.out.equals(data)).toBe(true);
    expect(src.calls.filter(([s]) => s > 30_000 && s < 40_000)).toEqual([[35_000, 40_000]]);
  });

  it('retries a range answered from the wrong offset', async () => {
    let n = 0;
    const src = memorySource(data, (start) => (start === 50_000 && n++ === 0 ? 'wrong-start' : undefined));
    expect((await download(src, opts())).hex).toBe(hex);
  });

  it('fails with the permanent error of a part that is not the head, not with an abort', async () => {
    const src = memorySource(data, (start) => (start === 20_000 ? 'denied' : undefined));
    await expect(download(src, opts(memorySink()))).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_DENIED' });
  });

  it('refuses an object over maxBytes before any range is read', async () => {
    const src = memorySource(data);
    await expect(download(src, { ...opts(), maxBytes: 1000 })).rejects.toMatchObject({ code: 'MODELPIN_E_SIZE_EXCEEDED' });
    expect(src.calls).toEqual([]);
  });
});

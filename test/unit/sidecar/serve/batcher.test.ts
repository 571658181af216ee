// The batching queue alone, with a fake executor and a fake clock: what runs together, on which
// executor, and when. No ONNX Runtime, no sockets, no waiting on real timers.
import { describe, expect, it } from 'vitest';
import { Batcher, type Clock, type QueuedRequest, type RunResult } from '../../../../sidecar/serve/batcher.js';
import { compareRow, TOLERANCE } from '../../../../sidecar/serve/batching-check.js';
import { typeFromV2 } from '../../../../sidecar/serve/datatypes.js';
import type { Executor, Feed, OutputTensor } from '../../../../sidecar/serve/executor.js';
import { describeSignature, type TensorSpec } from '../../../../sidecar/serve/signature.js';

const sig = describeSignature(
  [{ name: 'x', isTensor: true, type: 'float32', shape: ['N', 'W'] }],
  [{ name: 'y', isTensor: true, type: 'float32', shape: ['N', 'W'] }],
  'fake.onnx',
);

/** A clock whose `soon` and timers run only when the test says so. */
function fakeClock() {
  let t = 0;
  const soon: (() => void)[] = [];
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const clock: Clock = {
    now: () => t,
    setTimeout: (fn, ms) => {
      const id = ++ids;
      timers.push({ at: t + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      timers = timers.filter((x) => x.id !== id);
    },
    soon: (fn) => soon.push(fn),
  };
  return {
    clock,
    /** Run everything queued for "soon". */
    tick() {
      while (soon.length > 0) soon.shift()!();
    },
    advance(ms: number) {
      t += ms;
      const due = timers.filter((x) => x.at <= t);
      timers = timers.filter((x) => x.at > t);
      for (const x of due) x.fn();
    },
  };
}

/** An executor that records each run and answers y = x when the test releases it. */
function fakeExecutor(name: string, log: { executor: string; rows: number; dims: readonly number[] }[], opts: { lieRows?: boolean } = {}) {
  const pending: (() => void)[] = [];
  const ex: Executor & { release(): void; busy: number } = {
    busy: 0,
    run(feeds: Feed[]): Promise<OutputTensor[]> {
      log.push({ executor: name, rows: feeds[0]!.dims[0]!, dims: feeds[0]!.dims });
      ex.busy++;
      return new Promise((resolve) =>
        pending.push(() => {
          ex.busy--;
          const f = feeds[0]!;
          const dims = opts.lieRows && f.dims[0]! > 1 ? [1, ...f.dims.slice(1)] : f.dims;
          resolve([{ data: f.data, dims }]);
        }),
      );
    },
    release() {
      pending.shift()?.();
    },
    close: async () => {},
  };
  return ex;
}

const req = (rows: number, width = 2, fill = 1): QueuedRequest => ({
  inputs: [{ data: new Float32Array(rows * width).fill(fill), dims: [rows, width] }],
  rows,
  key: String(width),
});

const settle = () => new Promise((r) => setImmediate(r));

describe('Batcher', () => {
  it('runs a lone request at once (no timer), and queues what arrives while the executor is busy into one batch', async () => {
    const c = fakeClock();
    const log: { executor: string; rows: number; dims: readonly number[] }[] = [];
    const ex = fakeExecutor('a', log);
    const b = new Batcher(sig, [ex], { maxBatchSize: 8, maxBatchDelayMs: 0, maxQueue: 100, batching: true }, undefined, c.clock);
    const results: RunResult[] = [];
    b.enqueue(req(1, 2, 1), (e, r) => results.push(r!));
    c.tick();
    expect(log).toEqual([{ executor: 'a', rows: 1, dims: [1, 2] }]);
    for (let i = 2; i <= 4; i++) b.enqueue(req(i === 4 ? 2 : 1, 2, i), (e, r) => results.push(r!));
    c.tick();
    expect(log).toHaveLength(1); // busy: nothing else runs
    ex.release();
    await settle();
    c.tick();
    expect(log[1]).toEqual({ executor: 'a', rows: 4, dims: [4, 2] });
    ex.release();
    await settle();
    // Each request gets exactly its own rows back.
    expect(results.map((r) => Array.from(r.outputs[0]!.data as Float32Array))).toEqual([[1, 1], [2, 2], [3, 3], [4, 4, 4, 4]]);
    expect(results.map((r) => r.stats.rows)).toEqual([1, 4, 4, 4]);
  });

  it('never stacks requests of different trailing shapes, and never beyond maxBatchSize', async () => {
    const c = fakeClock();
    const log: { executor: string; rows: number; dims: readonly number[] }[] = [];
    const ex = fakeExecutor('a', log);
    const b = new Batcher(sig, [ex], { maxBatchSize: 3, maxBatchDelayMs: 0, maxQueue: 100, batching: true }, undefined, c.clock);
    const done: number[] = [];
    [req(1, 2), req(1, 5), req(2, 2), req(1, 2), req(1, 5)].forEach((r, i) => b.enqueue(r, () => done.push(i)));
    for (let k = 0; k < 4; k++) {
      c.tick();
      ex.release();
      await settle();
    }
    expect(log.map((l) => l.dims)).toEqual([
      [3, 2], // requests 0 and 2 (1 + 2 rows), width 2
      [2, 5], // requests 1 and 4, width 5
      [1, 2], // request 3 (would have made 4 rows with the first batch)
    ]);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('with --max-batch-delay-ms holds a partial batch under load, and runs at the deadline or when full', async () => {
    const c = fakeClock();
    const log: { executor: string; rows: number; dims: readonly number[] }[] = [];
    const ex = fakeExecutor('a', log);
    const b = new Batcher(sig, [ex], { maxBatchSize: 4, maxBatchDelayMs: 5, maxQueue: 100, batching: true }, undefined, c.clock);
    b.enqueue(req(1), () => {});
    b.enqueue(req(1), () => {});
    c.tick();
    expect(log).toHaveLength(0); // two queued, batch not full: wait
    c.advance(4);
    expect(log).toHaveLength(0);
    c.advance(1);
    expect(log.map((l) => l.rows)).toEqual([2]);
    ex.release();
    await settle();
    b.enqueue(req(1), () => {});
    b.enqueue(req(1), () => {});
    c.tick();
    b.enqueue(req(2), () => {}); // full now: runs without waiting for the timer
    c.tick();
    expect(log.map((l) => l.rows)).toEqual([2, 4]);
  });

  it('runs batches on every idle executor concurrently', async () => {
    const c = fakeClock();
    const log: { executor: string; rows: number; dims: readonly number[] }[] = [];
    const a = fakeExecutor('a', log);
    const bx = fakeExecutor('b', log);
    const b = new Batcher(sig, [a, bx], { maxBatchSize: 1, maxBatchDelayMs: 0, maxQueue: 100, batching: false }, undefined, c.clock);
    for (let i = 0; i < 3; i++) b.enqueue(req(1), () => {});
    c.tick();
    expect(log.map((l) => l.executor).sort()).toEqual(['a', 'b']);
    expect(b.busy).toBe(2);
    expect(b.depth).toBe(1);
    a.release();
    await settle();
    c.tick();
    expect(log).toHaveLength(3);
  });

  it('refuses beyond maxQueue with MODELPIN_E_OVERLOADED', () => {
    const c = fakeClock();
    const b = new Batcher(sig, [fakeExecutor('a', [])], { maxBatchSize: 1, maxBatchDelayMs: 0, maxQueue: 2, batching: false }, undefined, c.clock);
    const errs: unknown[] = [];
    for (let i = 0; i < 3; i++) b.enqueue(req(1), (e) => errs.push(e));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ code: 'MODELPIN_E_OVERLOADED', message: 'server overloaded: 2 requests already queued (--max-queue 2); retry later' });
  });

  it('answers each request alone when an output does not keep the batch as its dimension 0', async () => {
    const c = fakeClock();
    const log: { executor: string; rows: number; dims: readonly number[] }[] = [];
    const ex = fakeExecutor('a', log, { lieRows: true });
    const b = new Batcher(sig, [ex], { maxBatchSize: 8, maxBatchDelayMs: 0, maxQueue: 100, batching: true }, undefined, c.clock);
    b.enqueue(req(1), () => {});
    c.tick();
    const got: number[][] = [];
    b.enqueue(req(1, 2, 7), (e, r) => got.push(Array.from(r!.outputs[0]!.data as Float32Array)));
    b.enqueue(req(1, 2, 8), (e, r) => got.push(Array.from(r!.outputs[0]!.data as Float32Array)));
    ex.release();
    await settle();
    c.tick();
    ex.release(); // the stacked run: its output has 1 row for 2
    await settle();
    ex.release();
    await settle();
    ex.release();
    await settle();
    expect(log.map((l) => l.rows)).toEqual([1, 2, 1, 1]);
    expect(got).toEqual([[7, 7], [8, 8]]);
  });

  it('hands executors buffers they own: views on shared slabs are copied first', async () => {
    const c = fakeClock();
    const seen: Feed[] = [];
    const ex: Executor = { run: async (f) => (seen.push(...f), [{ data: f[0]!.data, dims: f[0]!.dims }]), close: async () => {} };
    const b = new Batcher(sig, [ex], { maxBatchSize: 8, maxBatchDelayMs: 0, maxQueue: 10, batching: true }, undefined, c.clock);
    const slab = new Float32Array(16);
    b.enqueue({ inputs: [{ data: slab.subarray(4, 6), dims: [1, 2] }], rows: 1, key: '2' }, () => {});
    c.tick();
    await settle();
    const d = seen[0]!.data as Float32Array;
    expect(d.byteOffset).toBe(0);
    expect(d.buffer.byteLength).toBe(8);
    expect(d.buffer).not.toBe(slab.buffer);
  });
});

describe('row comparison of the batching check', () => {
  const spec = (v2: string): TensorSpec => ({ name: 'y', type: typeFromV2(v2)!, shape: [-1, 2], dims: ['N', 2], jsonHead: '' });
  const t = (data: number[] | Float32Array, rows: number): OutputTensor => ({ data: data instanceof Float32Array ? data : Float32Array.from(data), dims: [rows, 2] });

  it('accepts differences within the documented float tolerance and reports larger ones', () => {
    const single = t([1000, 0.001], 1);
    const tol = TOLERANCE.FP32;
    // Within rel·|b| + abs·max|single|.
    expect(compareRow(spec('FP32'), t([0, 0, 1000 * (1 + tol.rel / 2), 0.001], 2), 1, single)).toBeUndefined();
    expect(compareRow(spec('FP32'), t([0, 0, 1000, 0.001 + 0.5e-3], 2), 1, single)).toBeUndefined(); // 0.5e-3 ≤ 1e-6·1000
    expect(compareRow(spec('FP32'), t([0, 0, 1000.5, 0.001], 2), 1, single)).toMatch(/^element 0 is 1000.5 instead of 1000 \(difference 0.500\)$/);
    expect(compareRow(spec('FP32'), t([0, 0, 1000, NaN], 2), 1, single)).toMatch(/^element 1 is NaN/);
    expect(compareRow(spec('FP32'), t([0, 0, NaN, 0.001], 2), 1, t([NaN, 0.001], 1))).toBeUndefined();
  });

  it('requires integers bit for bit, and the same trailing shape', () => {
    const int = (d: number[], rows: number): OutputTensor => ({ data: BigInt64Array.from(d.map(BigInt)), dims: [rows, 2] });
    expect(compareRow(spec('INT64'), int([1, 2, 3, 4], 2), 1, int([3, 4], 1))).toBeUndefined();
    expect(compareRow(spec('INT64'), int([1, 2, 3, 5], 2), 1, int([3, 4], 1))).toBe('element 1 is 5 instead of 4');
    expect(compareRow(spec('FP32'), t([1, 2, 3, 4], 2), 0, { data: Float32Array.of(1, 2, 3), dims: [1, 3] })).toBe('shape [1,3] alone but [1,2] in the stack');
  });
});

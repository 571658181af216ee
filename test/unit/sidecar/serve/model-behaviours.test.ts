// Models that break a serving runtime's assumptions (issues #11 and #15): the sidecar's own guesses
// (generated warm-up inputs, batchability) may only turn an optimisation off, never keep a good
// model from ready; what the user states (explicit warm-up samples, forced batching) is binding;
// and batching never changes an answer. Real ONNX Runtime, real sockets, the real start-up path.
import { readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { createLogger } from '../../../../sidecar/log.js';
import { startServe } from '../../../../sidecar/serve/index.js';
import { seededRandom } from '../../../fixtures/onnx/builder.js';
import { mlpModel } from '../../../fixtures/onnx/models.js';
import { dataDependentOutputModel, reflectPadModel, rowMixingModel, sequenceOutputModel, type MixingKind } from '../../../fixtures/onnx/serving-models.js';
import { get, post, startServer, testConfig, writeModel, type Fixture, type Running } from './support.js';

/** A logger whose lines the test can read. */
function memoryLog() {
  const lines: { level: string; msg: string; [k: string]: unknown }[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(JSON.parse(l)) }) };
}

const fixtures: Fixture[] = [];
function model(bytes: Uint8Array): Fixture {
  const fx = writeModel(bytes);
  fixtures.push(fx);
  return fx;
}
afterAll(() => {
  for (const fx of fixtures) fx.cleanup();
});

describe('warm-up: best effort when generated, binding when explicit', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = model(reflectPadModel());
  });
  const sample = (t: number) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, t], data: Array.from({ length: t }, (_, i) => i) }] });

  it('becomes ready with a warning when the automatic warm-up fails, and says why in metadata', async () => {
    const { lines, log } = memoryLog();
    const h = await startServe(testConfig(fx, { cacheDir: fx.dir + '/c1' }), { fetch: fetchArtifact, log });
    await h.ready;
    const warn = lines.find((l) => l.msg === 'automatic warm-up failed; serving without it');
    expect(warn).toBeDefined();
    expect(warn!.fix).toContain('spec.serving.warmup');
    const meta = (await get(`http://127.0.0.1:${h.port}/v2/models/m`)).json;
    expect(meta.parameters.warmup).toMatchObject({ source: 'auto', samples: 0, skipped: expect.stringContaining('failed') });
    // Batching was asked for, but the check had no usable sample: off, with the reason.
    expect(meta.parameters).toMatchObject({ dynamic_batching: false, dynamic_batching_off_reason: expect.stringContaining('no usable sample') });
    const r = await post(`http://127.0.0.1:${h.port}/v2/models/m/infer`, sample(5));
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data).toEqual([2, 1, 0, 1, 2, 3, 4, 3, 2]);
    const ready = lines.find((l) => l.msg === 'ready')!;
    expect(ready.warmup).toMatchObject({ source: 'auto', samples: 0 });
    await h.shutdown();
  });

  it('never turns ready when an explicit warm-up sample fails, and says which and why', async () => {
    const file = join(fx.dir, 'bad-warmup.json');
    writeFileSync(file, JSON.stringify([sample(6), sample(1)]));
    const h = await startServe(testConfig(fx, { cacheDir: fx.dir + '/c2', warmup: { file, auto: true } }), { fetch: fetchArtifact, log: memoryLog().log });
    await expect(h.ready).rejects.toMatchObject({ code: 'MODELPIN_E_WARMUP', message: expect.stringContaining(`warm-up sample 2 of ${file} failed`) });
    expect(h.service.isReady).toBe(false);
  });

  it('refuses an explicit sample the model could never take, with the request error', async () => {
    const file = join(fx.dir, 'wrong-warmup.json');
    writeFileSync(file, JSON.stringify({ inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }));
    const h = await startServe(testConfig(fx, { cacheDir: fx.dir + '/c3', warmup: { file, auto: true } }), { fetch: fetchArtifact, log: memoryLog().log });
    await expect(h.ready).rejects.toMatchObject({ code: 'MODELPIN_E_WARMUP', message: expect.stringContaining("warm-up sample 1 does not fit the model: unknown input 'nope'") });
  });

  it('runs explicit samples on every worker, reports them, and checks batching on their rows', async () => {
    const file = join(fx.dir, 'good-warmup.json');
    // Three distinct rows of T=8, as one sample of 2 rows and one of 1.
    const rows = [0, 1, 2].map((r) => Array.from({ length: 8 }, (_, i) => (r + 1) * Math.sin(i + r)));
    writeFileSync(file, JSON.stringify([{ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 8], data: [...rows[0]!, ...rows[1]!] }] }, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 8], data: rows[2] }] }]));
    const { lines, log } = memoryLog();
    const h = await startServe(testConfig(fx, { cacheDir: fx.dir + '/c4', workers: 2, warmup: { file, auto: true } }), { fetch: fetchArtifact, log });
    await h.ready;
    const meta = (await get(`http://127.0.0.1:${h.port}/v2/models/m`)).json;
    expect(meta.parameters.warmup).toMatchObject({ source: 'explicit', samples: 2 });
    expect(meta.parameters.workers).toBe(2);
    expect(meta.parameters).toMatchObject({ dynamic_batching: true, dynamic_batching_check: '3 distinct warm-up sample rows gave the same outputs alone and stacked' });
    expect(lines.find((l) => l.msg === 'ready')!.warmup).toEqual({ source: 'explicit', samples: 2 });
    await h.shutdown();
  });

  it('with the automatic warm-up turned off and no samples, does no warm-up at all', async () => {
    const h = await startServe(testConfig(fx, { cacheDir: fx.dir + '/c5', maxBatchSize: 1, warmup: { auto: false } }), { fetch: fetchArtifact, log: memoryLog().log });
    await h.ready;
    expect((await get(`http://127.0.0.1:${h.port}/v2/models/m`)).json.parameters.warmup).toEqual({ source: 'none', samples: 0, ms: 0 });
    await h.shutdown();
  });
});

describe('partial outputs: sequences and maps are left out, tensors served', () => {
  let srv: Running;
  beforeAll(async () => {
    srv = await startServer(model(sequenceOutputModel()), { maxBatchSize: 1 });
    await srv.handle.ready;
  });
  afterAll(() => srv.stop());

  it('loads the model, lists only servable outputs and says what was left out and how to avoid it', async () => {
    const meta = (await get(srv.url('/v2/models/m'))).json;
    expect(meta.outputs).toEqual([{ name: 'scores', datatype: 'FP32', shape: [-1, 3] }]);
    expect(meta.parameters.omitted_outputs).toEqual([
      { name: 'parts', reason: 'it is a sequence or map, not a tensor', hint: expect.stringContaining("'zipmap': False") },
    ]);
    const r = await post(srv.url('/v2/models/m/infer'), { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
    expect(r.status).toBe(200);
    expect(r.json.outputs).toEqual([{ name: 'scores', datatype: 'FP32', shape: [1, 3], data: [2, 4, 6] }]);
  });

  it('answers a request naming the non-servable output with a precise 400', async () => {
    const r = await post(srv.url('/v2/models/m/infer'), { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }], outputs: [{ name: 'parts' }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^output 'parts' cannot be served: it is a sequence or map, not a tensor; servable outputs: scores \(.*zipmap/);
  });
});

describe('batching: only when asked, only when sound, or when forced', () => {
  it('refuses batching for an output whose size depends on the data; force turns it on, logged as forced', async () => {
    const fx = model(dataDependentOutputModel());
    const meta = async (over: Parameters<typeof testConfig>[1]) => {
      const { lines, log } = memoryLog();
      const h = await startServe(testConfig(fx, { name: 'd', ...over }), { fetch: fetchArtifact, log });
      await h.ready;
      const m = (await get(`http://127.0.0.1:${h.port}/v2/models/d`)).json;
      await h.shutdown();
      return { params: m.parameters, lines };
    };
    // Generated rows cannot tell: the named output dimension 'boxes' is in no input.
    expect((await meta({ cacheDir: fx.dir + '/a' })).params).toMatchObject({
      dynamic_batching: false,
      dynamic_batching_off_reason: "output 'y' has a dynamic dimension 1 ('boxes') that no input has, so its size may depend on the data; the check needs 3 real rows of one shape to tell: give warm-up samples",
    });
    // Real rows show it: 1, 3 and 2 positive values give outputs of 1, 3 and 2 columns.
    const file = join(fx.dir, 'rows.json');
    writeFileSync(file, JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 4], data: [1, -1, -1, -1, 1, 1, 1, -1, 1, 1, -1, -1] }] }));
    expect((await meta({ cacheDir: fx.dir + '/b', warmup: { file, auto: true } })).params).toMatchObject({
      dynamic_batching: false,
      dynamic_batching_off_reason: "output 'y' has a size that depends on the data: rows of one input shape gave shapes [1,1], [1,3], [1,2]",
    });
    const forced = await meta({ cacheDir: fx.dir + '/c', batchingForce: true });
    expect(forced.params).toMatchObject({ dynamic_batching: true, dynamic_batching_forced: true });
    expect(forced.lines.some((l) => l.msg.includes('FORCED'))).toBe(true);
  });

  it('cannot be forced for a model without a dynamic batch dimension', async () => {
    const fx = model(rowMixingModel('global-max'));
    // A scalar-input model: the test's unbatchable fixture has a rank-0 input.
    const { unbatchableModel } = await import('../../../fixtures/onnx/models.js');
    const u = model(unbatchableModel());
    const h = await startServe(testConfig(u, { batchingForce: true }), { fetch: fetchArtifact, log: memoryLog().log });
    await h.ready;
    expect((await get(`http://127.0.0.1:${h.port}/v2/models/m`)).json.parameters).toMatchObject({ dynamic_batching: false });
    await h.shutdown();
    void fx;
  });

  for (const kind of ['global-max', 'batch-mean', 'batch-reshape'] as MixingKind[]) {
    it(`refuses batching for a model whose rows interact (${kind}), and every concurrent answer equals ONNX Runtime on that request alone`, async () => {
      const bytes = rowMixingModel(kind);
      const fx = model(bytes);
      const srv = await startServer(fx, { name: 'mix', maxBatchSize: 8 });
      await srv.handle.ready;
      const meta = (await get(srv.url('/v2/models/mix'))).json;
      expect(meta.parameters.dynamic_batching).toBe(false);
      expect(meta.parameters.dynamic_batching_off_reason).toMatch(/^output 'y' of row \d differs when rows are stacked: element \d+ is .* instead of .* \(difference .*\), so its rows are not independent$/);
      const session = await ort.InferenceSession.create(bytes);
      const rand = seededRandom(15);
      const reqs = Array.from({ length: 40 }, (_, i) => {
        const rows = 1 + (i % 3);
        const scale = [0.001, 1, 1000][i % 3]! * (i % 2 ? -1 : 1);
        return Float32Array.from({ length: rows * 4 }, () => (rand() * 2 - 1) * scale);
      });
      const replies = await Promise.all(reqs.map((d) => post(srv.url('/v2/models/mix/infer'), { inputs: [{ name: 'x', datatype: 'FP32', shape: [d.length / 4, 4], data: Array.from(d) }] })));
      for (const [i, r] of replies.entries()) {
        expect(r.status).toBe(200);
        const want = (await session.run({ x: new ort.Tensor('float32', reqs[i]!, [reqs[i]!.length / 4, 4]) })).y!.data as Float32Array;
        expect(r.json.outputs[0].data, `request ${i}`).toEqual(Array.from(want));
      }
      await srv.stop();
    });
  }

  it('fuzz: random concurrent requests against a batched model each equal ONNX Runtime on that request alone', async () => {
    const bytes = mlpModel();
    const fx = model(bytes);
    const srv = await startServer(fx, { name: 'mlp', maxBatchSize: 16, maxBatchDelayMs: 1, workers: 2 });
    await srv.handle.ready;
    expect((await get(srv.url('/v2/models/mlp'))).json.parameters.dynamic_batching).toBe(true);
    const session = await ort.InferenceSession.create(bytes);
    const rand = seededRandom(20261215);
    for (let round = 0; round < 5; round++) {
      const reqs = Array.from({ length: 20 + Math.floor(rand() * 40) }, () => {
        const rows = 1 + Math.floor(rand() * 4);
        const scale = 10 ** (Math.floor(rand() * 7) - 3);
        return Float32Array.from({ length: rows * 64 }, () => (rand() * 2 - 1) * scale);
      });
      const replies = await Promise.all(reqs.map((d) => post(srv.url('/v2/models/mlp/infer'), { inputs: [{ name: 'input', datatype: 'FP32', shape: [d.length / 64, 64], data: Array.from(d) }] })));
      for (const [i, r] of replies.entries()) {
        expect(r.status).toBe(200);
        const want = (await session.run({ input: new ort.Tensor('float32', reqs[i]!, [reqs[i]!.length / 64, 64]) })).logits!.data as Float32Array;
        const got = r.json.outputs[0].data as number[];
        // Bit for bit is not promised across batch sizes (a GEMM may sum in another order); the
        // documented float tolerance is.
        for (let k = 0; k < got.length; k++) expect(Math.abs(got[k]! - want[k]!), `request ${i} element ${k}`).toBeLessThanOrEqual(1e-5 * Math.abs(want[k]!) + 1e-6);
      }
    }
    const stats = (await get(srv.url('/v2/models/mlp/stats'))).json.model_stats[0];
    // Batching really happened: fewer runs than requests.
    expect(stats.execution_count).toBeLessThan(stats.inference_count);
    await srv.stop();
  });
});

describe('the optimized-model cache (opt-in)', () => {
  it('saves the optimized graph on the first start, loads it on the next, and rebuilds a corrupt one', async () => {
    const bytes = mlpModel();
    const fx = model(bytes);
    const start = async () => {
      const { lines, log } = memoryLog();
      const h = await startServe(testConfig(fx, { optimizedModelCache: true }), { fetch: fetchArtifact, log });
      await h.ready;
      const r = await post(`http://127.0.0.1:${h.port}/v2/models/m/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0.5) }] });
      await h.shutdown();
      return { from: lines.find((l) => l.msg === 'ready')!.sessionFrom, out: r.json.outputs[0].data as number[], lines };
    };
    const first = await start();
    expect(first.from).toBe('verified artifact');
    const dir = join(fx.dir, 'cache', 'optimized');
    expect(readdirSync(dir).sort()).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.onnx$/), expect.stringMatching(/^[0-9a-f]{64}\.onnx\.sha256$/)]);
    const second = await start();
    expect(second.from).toBe('optimized-model cache');
    expect(second.out).toEqual(first.out);
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith('.onnx'))!);
    appendFileSync(file, 'x');
    const third = await start();
    expect(third.lines.some((l) => l.msg === 'evicting a corrupt optimized model from the cache')).toBe(true);
    expect(third.from).toBe('verified artifact');
    expect(third.out).toEqual(first.out);
  });
});

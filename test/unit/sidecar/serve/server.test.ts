// The V2 server end to end in-process: real ONNX Runtime sessions, real sockets on 127.0.0.1:0,
// real start-up path (fetchArtifact on a file:// URI). Batching is enabled everywhere, so every
// datatype and shape story also goes through the batcher.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { parseJson } from '../../../../sidecar/serve/rest/json.js';
import { fromHalfBits, toHalfBits } from '../../../../sidecar/serve/datatypes.js';
import { ALL_TYPES, allTypesModel, dynamicDimsModel, mlpModel, rowSumModel, unbatchableModel } from '../../../fixtures/onnx/models.js';
import { get, post, startServer, writeModel, type Fixture, type Running } from './support.js';

/** Per datatype: 4 JSON literals (a [2,2] tensor) that stress its range, and how to check them. */
const VALUES: Record<string, string[]> = {
  BOOL: ['true', 'false', 'false', 'true'],
  UINT8: ['0', '255', '7', '128'],
  UINT16: ['0', '65535', '1', '2'],
  UINT32: ['0', '4294967295', '3', '4'],
  UINT64: ['0', '18446744073709551615', '9007199254740993', '5'],
  INT8: ['-128', '127', '0', '-1'],
  INT16: ['-32768', '32767', '0', '1'],
  INT32: ['-2147483648', '2147483647', '0', '-5'],
  INT64: ['-9223372036854775808', '9223372036854775807', '-9007199254740993', '42'],
  FP16: ['1.5', '-2', '65504', '0.1'],
  FP32: ['1.5', '-0.1', '3.4028234663852886e38', '1e-45'],
  FP64: ['0.1', '-1e308', '5e-324', '123.456'],
  BYTES: ['"a"', '"h\\u00e9llo"', '""', '"日本"'],
};

/** What the server must answer for a literal, compared as canonical strings. */
function expected(v2: string, lit: string): string {
  const v = parseJson(lit, true);
  switch (v2) {
    case 'FP16':
      return String(fromHalfBits(toHalfBits(Number(v))));
    case 'FP32':
      return String(Math.fround(Number(v)));
    case 'BOOL':
    case 'BYTES':
      return JSON.stringify(v);
    default:
      return String(v);
  }
}
const canon = (v: unknown) => (typeof v === 'string' || typeof v === 'boolean' ? JSON.stringify(v) : String(v));

function inputsJson(nested: boolean, pick = (s: string[]) => s): string {
  return ALL_TYPES.map((t) => {
    const lits = pick(VALUES[t.v2]!);
    const data = nested ? `[[${lits[0]},${lits[1]}],[${lits[2]},${lits[3]}]]` : `[${lits.join(',')}]`;
    return `{"name":"in_${t.suffix}","datatype":"${t.v2}","shape":[2,2],"data":${data}}`;
  }).join(',');
}

describe('serve: every datatype through the batcher', () => {
  let fx: Fixture;
  let srv: Running;
  beforeAll(async () => {
    fx = writeModel(allTypesModel());
    srv = await startServer(fx, { name: 'types', modelVersion: '7' });
    await srv.handle.ready;
  });
  afterAll(async () => {
    await srv.stop();
    fx.cleanup();
  });

  for (const nested of [false, true]) {
    it(`round-trips all 13 datatypes with ${nested ? 'nested' : 'flat'} data, exact 64-bit integers included`, async () => {
      const r = await post(srv.url('/v2/models/types/versions/7/infer'), `{"id":"req-1","inputs":[${inputsJson(nested)}]}`);
      expect(r.status, r.text).toBe(200);
      const body = parseJson(r.text, true) as { model_name: string; model_version: string; id: string; outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] };
      expect(body.model_name).toBe('types');
      expect(body.model_version).toBe('7');
      expect(body.id).toBe('req-1');
      for (const t of ALL_TYPES) {
        const out = body.outputs.find((o) => o.name === `out_${t.suffix}`)!;
        expect(out.datatype).toBe(t.v2);
        expect(out.shape).toEqual([2, 2]);
        expect(out.data.map(canon), t.v2).toEqual(VALUES[t.v2]!.map((l) => expected(t.v2, l)));
      }
      const sum = body.outputs.find((o) => o.name === 'sum_f32')!;
      expect(sum.data.map(Number)).toEqual(VALUES.FP32!.map((l) => Math.fround(Math.fround(Number(l)) * 2)));
    });
  }

  it('answers 64 concurrent requests each with its own data, and really batches them', async () => {
    const reqs = Array.from({ length: 64 }, (_, i) => {
      // Rotate the values so every request is different.
      const rot = (s: string[]) => s.map((_, j) => s[(i + j) % 4]!);
      return { rot, p: post(srv.url('/v2/models/types/infer'), `{"id":"r${i}","inputs":[${inputsJson(i % 2 === 0, rot)}]}`) };
    });
    for (const [i, { rot, p }] of reqs.entries()) {
      const r = await p;
      expect(r.status, r.text).toBe(200);
      const body = parseJson(r.text, true) as { id: string; outputs: { name: string; data: unknown[] }[] };
      expect(body.id).toBe(`r${i}`);
      for (const t of ALL_TYPES) {
        const out = body.outputs.find((o) => o.name === `out_${t.suffix}`)!;
        expect(out.data.map(canon)).toEqual(rot(VALUES[t.v2]!).map((l) => expected(t.v2, l)));
      }
    }
    const m = (await get(srv.url('/metrics'))).text;
    const rows = Number(/modelpin_infer_batch_size_sum\{[^}]*\} (\d+)/.exec(m)![1]);
    const runs = Number(/modelpin_infer_batch_size_count\{[^}]*\} (\d+)/.exec(m)![1]);
    // 2 rows per request: more rows than 2 per run on average means requests were concatenated.
    expect(rows / runs).toBeGreaterThan(2);
  });

  it('selects outputs and returns them in the requested order', async () => {
    const r = await post(
      srv.url('/v2/models/types/infer'),
      `{"inputs":[${inputsJson(false)}],"outputs":[{"name":"sum_f32"},{"name":"out_i64"}]}`,
    );
    expect(r.status).toBe(200);
    const body = parseJson(r.text, true) as { id?: string; outputs: { name: string }[] };
    expect(body.outputs.map((o) => o.name)).toEqual(['sum_f32', 'out_i64']);
    expect(body.id).toBeUndefined();
  });

  it('reports metadata: V2 datatypes, -1 for the symbolic batch dim, platform, digest, batching on', async () => {
    const r = await get(srv.url('/v2/models/types'));
    expect(r.status).toBe(200);
    expect(r.json.name).toBe('types');
    expect(r.json.versions).toEqual(['7']);
    expect(r.json.platform).toBe('onnxruntime_onnx');
    expect(r.json.inputs).toHaveLength(13);
    expect(r.json.inputs[12]).toEqual({ name: 'in_str', datatype: 'BYTES', shape: [-1, 2] });
    expect(r.json.inputs.map((i: { datatype: string }) => i.datatype)).toEqual(ALL_TYPES.map((t) => t.v2));
    expect(r.json.outputs[13]).toEqual({ name: 'sum_f32', datatype: 'FP32', shape: [-1, 2] });
    expect(r.json.parameters).toMatchObject({ digest: fx.digest, dynamic_batching: true, max_batch_size: 32, max_batch_delay_ms: 0, workers: 1 });
    expect(r.json.parameters.dynamic_batching_check).toBe('3 distinct generated rows gave the same outputs alone and stacked');
    expect(r.json.parameters.warmup).toMatchObject({ source: 'auto', samples: 1 });
    expect((await get(srv.url('/v2/models/types/versions/7'))).json.name).toBe('types');
    expect((await get(srv.url('/v2/models/types/ready'))).json).toEqual({ name: 'types', ready: true });
    expect((await get(srv.url('/v2/models/types/versions/7/ready'))).status).toBe(200);
    expect((await get(srv.url('/v2/health/live'))).status).toBe(200);
    expect((await get(srv.url('/v2/health/ready'))).status).toBe(200);
    expect((await get(srv.url('/v2'))).json).toMatchObject({ name: 'modelpin', extensions: expect.arrayContaining(['binary_tensor_data']) });
  });

  it('round-trips every datatype through the binary tensor extension (inputs and outputs)', async () => {
    // Take the JSON values, encode them as raw little-endian tensors.
    const parts: Buffer[] = [];
    const inputs = ALL_TYPES.map((t) => {
      const vals = VALUES[t.v2]!.map((l) => parseJson(l, true));
      let b: Buffer;
      if (t.v2 === 'BYTES') {
        b = Buffer.concat(
          (vals as string[]).flatMap((s) => {
            const e = Buffer.from(s, 'utf8');
            const len = Buffer.alloc(4);
            len.writeUInt32LE(e.length);
            return [len, e];
          }),
        );
      } else {
        const type = t.v2 === 'FP16' ? 'float16' : undefined;
        const arr = binArray(t.v2, vals, type);
        b = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
      }
      parts.push(b);
      return { name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2], parameters: { binary_data_size: b.length } };
    });
    const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true }, outputs: [...ALL_TYPES.map((t) => ({ name: `out_${t.suffix}` })), { name: 'sum_f32', parameters: { binary_data: false } }] }));
    const res = await fetch(srv.url('/v2/models/types/infer'), {
      method: 'POST',
      headers: { 'Inference-Header-Content-Length': String(header.length), 'content-type': 'application/octet-stream' },
      body: Buffer.concat([header, ...parts]),
    });
    expect(res.status).toBe(200);
    const hlen = Number(res.headers.get('inference-header-content-length'));
    const all = Buffer.from(await res.arrayBuffer());
    const head = JSON.parse(all.subarray(0, hlen).toString()) as { outputs: { name: string; parameters?: { binary_data_size: number }; data?: number[] }[] };
    let off = hlen;
    for (const [i, t] of ALL_TYPES.entries()) {
      const o = head.outputs[i]!;
      expect(o.name).toBe(`out_${t.suffix}`);
      const size = o.parameters!.binary_data_size;
      expect(all.subarray(off, off + size).equals(parts[i]!), t.v2).toBe(true);
      off += size;
    }
    expect(off).toBe(all.length);
    expect(head.outputs[13]!.data).toEqual([3, -0.20000000298023224, Infinity, 2.802596928649634e-45].map((x, k) => (k === 2 ? 'Infinity' : x)));
  });

  it('rejects malformed binary requests with a precise 400', async () => {
    const url = srv.url('/v2/models/types/infer');
    const send = async (header: unknown, binary: Buffer, hlen?: string) => {
      const h = Buffer.from(JSON.stringify(header));
      const r = await fetch(url, { method: 'POST', headers: { 'Inference-Header-Content-Length': hlen ?? String(h.length) }, body: Buffer.concat([h, binary]) });
      return { status: r.status, error: ((await r.json()) as { error: string }).error };
    };
    const f32 = { name: 'in_f32', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } };
    const only = (x: Record<string, unknown>) => ({ inputs: [x] });
    expect(await send(only({ ...f32, parameters: { binary_data_size: 12 } }), Buffer.alloc(12))).toEqual({
      status: 400,
      error: "input 'in_f32': binary data is 12 bytes but shape [2,2] of FP32 needs 16",
    });
    expect(await send(only(f32), Buffer.alloc(8))).toEqual({
      status: 400,
      error: "input 'in_f32': binary_data_size 16 runs past the end of the body (8 bytes left)",
    });
    expect((await send(only(f32), Buffer.alloc(20))).error).toBe("the binary section has 4 bytes beyond the inputs' binary_data_size values");
    expect((await send(only(f32), Buffer.alloc(16), 'abc')).error).toBe('Inference-Header-Content-Length must be a non-negative integer, got "abc"');
    expect((await send(only(f32), Buffer.alloc(16), '100000')).error).toMatch(/^Inference-Header-Content-Length is 100000 but the body has only \d+ bytes$/);
    const str = { name: 'in_str', datatype: 'BYTES', shape: [1, 2], parameters: { binary_data_size: 7 } };
    const oneString = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('abc')]);
    expect((await send(only(str), oneString)).error).toBe("input 'in_str': binary data has 1 BYTES elements but shape [1,2] needs 2");
    const r = await post(url, { inputs: [f32] });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe("input 'in_f32' has binary_data_size but the request has no Inference-Header-Content-Length header");
  });

  it('rejects bad requests with 4xx and a precise message', async () => {
    const url = srv.url('/v2/models/types/infer');
    const valid = JSON.parse(`{"inputs":[${inputsJson(false).replace(/(\d{16,})/g, '1')}]}`) as { inputs: Record<string, unknown>[] };
    const without = (i: number) => ({ inputs: valid.inputs.filter((_, k) => k !== i) });
    const patched = (i: number, patch: Record<string, unknown>) => ({ inputs: valid.inputs.map((x, k) => (k === i ? { ...x, ...patch } : x)) });
    const cases: [string, unknown, number, string][] = [
      ['malformed JSON', '{"inputs": [', 400, 'malformed JSON in the request body'],
      ['not an object', '[1,2]', 400, 'must be a JSON object'],
      ['unknown input', { inputs: [...valid.inputs, { name: 'nope', datatype: 'FP32', shape: [1], data: [1] }] }, 400, "unknown input 'nope'"],
      ['missing input', without(0), 400, "missing input 'in_bool'"],
      ['wrong datatype', patched(10, { datatype: 'FP64' }), 400, `input 'in_f32' has datatype "FP64" but the model expects FP32`],
      ['wrong rank', patched(10, { shape: [4] }), 400, "input 'in_f32' has rank 1 (shape [4]) but the model expects rank 2 (shape [-1,2])"],
      ['fixed dim mismatch', patched(10, { shape: [1, 4] }), 400, "input 'in_f32': dimension 1 is 4 but the model requires 2"],
      ['too little data', patched(10, { data: [1, 2, 3] }), 400, "input 'in_f32': data has 3 elements but shape [2,2] needs 4"],
      ['too much data', patched(10, { data: [1, 2, 3, 4, 5] }), 400, "input 'in_f32': data has 5+ elements but shape [2,2] needs 4"],
      // Refused before allocating: 200 G elements would be an 800 GB tensor.
      ['shape far beyond the data', patched(10, { shape: [100000000000, 2] }), 400, "input 'in_f32': data has 4 elements but shape [100000000000,2] needs 200000000000"],
      ['BYTES shape far beyond the data', patched(12, { shape: [5000000000, 2] }), 400, "input 'in_str': data has 4 elements but shape [5000000000,2] needs 10000000000"],
      ['out of range', patched(5, { data: [1, 2, 3, 300] }), 400, "input 'in_i8': element 3 (300) is not a valid INT8 value (integers from -128 to 127)"],
      ['not a number', patched(10, { data: [1, 2, 'x', 4] }), 400, 'input \'in_f32\': element 2 ("x") is not a valid FP32 value'],
      ['fraction in int', patched(7, { data: [1, 2, 3.5, 4] }), 400, "input 'in_i32': element 2 (3.5) is not a valid INT32 value"],
      ['unknown output', { ...valid, outputs: [{ name: 'zzz' }] }, 400, "unknown output 'zzz'"],
      ['nested too deep', patched(10, { data: [[[1, 2]], [[3, 4]]] }), 400, "input 'in_f32': data is nested 3 levels deep but shape [2,2] has rank 2"],
      ['no data', patched(10, { data: undefined }), 400, "input 'in_f32' has no \"data\""],
      ['bad shape', patched(10, { shape: [2, -1] }), 400, "input 'in_f32': \"shape\" must be an array of non-negative integers"],
      ['disagreeing batch', patched(10, { shape: [1, 2], data: [1, 2] }), 400, "inputs disagree on the batch dimension: 'in_bool' has 2 rows but 'in_f32' has 1"],
      ['empty inputs', { inputs: [] }, 400, '"inputs" must be a non-empty array'],
    ];
    for (const [what, body, status, msg] of cases) {
      const r = await post(url, body);
      expect(r.status, what).toBe(status);
      expect(r.json.error, what).toContain(msg);
    }
    expect((await post(url, valid)).status).toBe(200);
    const unknownModel = await post(srv.url('/v2/models/other/infer'), valid);
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.json.error).toBe("unknown model 'other'; this server serves 'types'");
    const unknownVersion = await post(srv.url('/v2/models/types/versions/8/infer'), valid);
    expect(unknownVersion.status).toBe(404);
    expect(unknownVersion.json.error).toBe("unknown version '8' of model 'types'; this server serves version '7'");
    expect((await get(srv.url('/v2/models/other'))).status).toBe(404);
    const wrongMethod = await get(srv.url('/v2/models/types/infer'));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(wrongMethod.json).toEqual({ error: "method 'GET' is not allowed on '/v2/models/types/infer'; use POST" });
    expect((await get(srv.url('/nope'))).status).toBe(404);
    expect((await get(srv.url('/v2/models/types/versions/1/ready'))).status).toBe(404);
    const failures = /modelpin_infer_requests_total\{[^}]*outcome="failure"\} (\d+)/.exec((await get(srv.url('/metrics'))).text);
    expect(Number(failures![1])).toBeGreaterThanOrEqual(cases.length);
  });
});

function binArray(v2: string, vals: unknown[], _t?: string): ArrayBufferView {
  switch (v2) {
    case 'BOOL':
      return Uint8Array.from(vals as boolean[], (b) => (b ? 1 : 0));
    case 'UINT8':
      return Uint8Array.from(vals as number[]);
    case 'UINT16':
      return Uint16Array.from(vals as number[]);
    case 'UINT32':
      return Uint32Array.from(vals as number[]);
    case 'UINT64':
      return BigUint64Array.from(vals, (v) => BigInt(v as number));
    case 'INT8':
      return Int8Array.from(vals as number[]);
    case 'INT16':
      return Int16Array.from(vals as number[]);
    case 'INT32':
      return Int32Array.from(vals as number[]);
    case 'INT64':
      return BigInt64Array.from(vals, (v) => BigInt(v as number));
    case 'FP16':
      return Uint16Array.from(vals as number[], toHalfBits);
    case 'FP32':
      return Float32Array.from(vals as number[]);
    default:
      return Float64Array.from(vals as number[]);
  }
}

describe('serve: batched results equal unbatched results exactly', () => {
  let fx: Fixture;
  let batched: Running;
  let single: Running;
  beforeAll(async () => {
    fx = writeModel(mlpModel());
    batched = await startServer(fx, { name: 'mlp', maxBatchSize: 64 });
    single = await startServer(fx, { name: 'mlp', maxBatchSize: 1, cacheDir: fx.dir + '/cache2' });
    await Promise.all([batched.handle.ready, single.handle.ready]);
  });
  afterAll(async () => {
    await batched.stop();
    await single.stop();
    fx.cleanup();
  });

  it('gives bit-identical logits for 96 concurrent requests of 1-3 rows, batched or not, and matches in-process ORT', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 4 - 2;
    const reqs = Array.from({ length: 96 }, (_, i) => {
      const rows = (i % 3) + 1;
      return { rows, data: Array.from({ length: rows * 64 }, () => Math.fround(rnd())) };
    });
    const send = (s: Running) =>
      Promise.all(reqs.map((r) => post(s.url('/v2/models/mlp/infer'), { inputs: [{ name: 'input', datatype: 'FP32', shape: [r.rows, 64], data: r.data }] })));
    const [a, b] = await Promise.all([send(batched), send(single)]);
    const session = await ort.InferenceSession.create(fx.file, { intraOpNumThreads: 1 });
    for (const [i, r] of reqs.entries()) {
      expect(a[i]!.status).toBe(200);
      expect(a[i]!.text).toBe(b[i]!.text);
      const ref = await session.run({ input: new ort.Tensor('float32', Float32Array.from(r.data), [r.rows, 64]) });
      expect(a[i]!.json.outputs[0].shape).toEqual([r.rows, 10]);
      expect(a[i]!.json.outputs[0].data).toEqual(Array.from(ref.logits!.data as Float32Array));
    }
    const batchedMeta = (await get(batched.url('/v2/models/mlp'))).json;
    expect(batchedMeta.parameters.dynamic_batching).toBe(true);
    const singleMeta = (await get(single.url('/v2/models/mlp'))).json;
    expect(singleMeta.parameters).toMatchObject({ dynamic_batching: false, dynamic_batching_off_reason: expect.stringContaining('not requested (--max-batch-size is 1') });
    const m = (await get(batched.url('/metrics'))).text;
    const rows = Number(/modelpin_infer_batch_size_sum\{[^}]*\} (\d+)/.exec(m)![1]);
    const runs = Number(/modelpin_infer_batch_size_count\{[^}]*\} (\d+)/.exec(m)![1]);
    expect(rows).toBe(reqs.reduce((s, r) => s + r.rows, 0) + 0);
    expect(runs).toBeLessThan(reqs.length);
  });
});

describe('serve: models whose shapes rule batching out run one by one; unnamed batch dims are checked', () => {
  let fx: Fixture;
  let fx2: Fixture;
  let srv: Running;
  let dyn: Running;
  beforeAll(async () => {
    fx = writeModel(unbatchableModel());
    fx2 = writeModel(dynamicDimsModel());
    srv = await startServer(fx, { name: 'u', maxBatchSize: 32 });
    dyn = await startServer(fx2, { name: 'd', maxBatchSize: 32 });
    await Promise.all([srv.handle.ready, dyn.handle.ready]);
  });
  afterAll(async () => {
    await srv.stop();
    await dyn.stop();
    fx.cleanup();
    fx2.cleanup();
  });

  it('says batching is off and why, in metadata', async () => {
    const meta = (await get(srv.url('/v2/models/u'))).json;
    expect(meta.inputs).toEqual([
      { name: 'scale', datatype: 'FP32', shape: [] },
      { name: 'vec', datatype: 'FP32', shape: [3] },
    ]);
    expect(meta.parameters).toMatchObject({ dynamic_batching: false, dynamic_batching_off_reason: "input 'scale' is a scalar (rank 0), so it has no batch dimension" });
    const d = (await get(dyn.url('/v2/models/d'))).json;
    expect(d.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, -1] }]);
    expect(d.outputs).toEqual([{ name: 'y', datatype: 'INT32', shape: [-1, -1] }]);
    // Unnamed leading dimensions prove nothing either way; the row-independence check decides.
    expect(d.parameters).toMatchObject({ dynamic_batching: true, dynamic_batching_check: expect.stringContaining('3 distinct generated rows') });
  });

  it('serves scalar and fixed-shape inputs correctly under concurrency', async () => {
    const rs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        post(srv.url('/v2/models/u/infer'), {
          inputs: [
            // Scalars may be sent bare or as a one-element array.
            { name: 'scale', datatype: 'FP32', shape: [], data: i % 2 ? i : [i] },
            { name: 'vec', datatype: 'FP32', shape: [3], data: [1, 2, 3] },
          ],
        }),
      ),
    );
    for (const [i, r] of rs.entries()) {
      expect(r.status, r.text).toBe(200);
      expect(r.json.outputs).toEqual([
        { name: 'scaled', datatype: 'FP32', shape: [3], data: [i, 2 * i, 3 * i] },
        { name: 'doubled', datatype: 'FP32', shape: [], data: [2 * i] },
      ]);
    }
    const bad = await post(srv.url('/v2/models/u/infer'), {
      inputs: [
        { name: 'scale', datatype: 'FP32', shape: [1], data: [1] },
        { name: 'vec', datatype: 'FP32', shape: [3], data: [1, 2, 3] },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe("input 'scale' has rank 1 (shape [1]) but the model expects rank 0 (shape [])");
  });

  it('serves different trailing dims concurrently with an output datatype different from the input', async () => {
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(dyn.url('/v2/models/d/infer'), { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, i + 1], data: Array.from({ length: i + 1 }, (_, k) => k + 0.7) }] })),
    );
    for (const [i, r] of rs.entries()) {
      expect(r.status, r.text).toBe(200);
      expect(r.json.outputs[0]).toEqual({ name: 'y', datatype: 'INT32', shape: [1, i + 1], data: Array.from({ length: i + 1 }, (_, k) => k) });
    }
  });
});

describe('serve: batching groups requests by trailing shape, and honours --max-batch-delay-ms', () => {
  let fx: Fixture;
  let srv: Running;
  beforeAll(async () => {
    fx = writeModel(rowSumModel());
    srv = await startServer(fx, { name: 'rs', maxBatchSize: 16, maxBatchDelayMs: 5 });
    await srv.handle.ready;
  });
  afterAll(async () => {
    await srv.stop();
    fx.cleanup();
  });

  it('answers concurrent requests of different widths and row counts correctly', async () => {
    const reqs = Array.from({ length: 60 }, (_, i) => {
      const w = [2, 3, 5][i % 3]!;
      const rows = 1 + (i % 4);
      const data = Array.from({ length: rows * w }, (_, k) => i + k / 8);
      const want = Array.from({ length: rows }, (_, r) => data.slice(r * w, (r + 1) * w).reduce((a, b) => Math.fround(a + b), 0));
      return { w, rows, data, want };
    });
    const rs = await Promise.all(reqs.map((r) => post(srv.url('/v2/models/rs/infer'), { inputs: [{ name: 'x', datatype: 'FP32', shape: [r.rows, r.w], data: r.data }] })));
    for (const [i, r] of reqs.entries()) {
      expect(rs[i]!.status, rs[i]!.text).toBe(200);
      expect(rs[i]!.json.outputs[0].shape).toEqual([r.rows]);
      expect(rs[i]!.json.outputs[0].data).toEqual(r.want);
    }
    const m = (await get(srv.url('/metrics'))).text;
    const rows = Number(/modelpin_infer_batch_size_sum\{[^}]*\} (\d+)/.exec(m)![1]);
    const runs = Number(/modelpin_infer_batch_size_count\{[^}]*\} (\d+)/.exec(m)![1]);
    expect(rows).toBe(reqs.reduce((a, r) => a + r.rows, 0));
    expect(runs).toBeLessThan(reqs.length);
    // No run ever exceeded --max-batch-size rows.
    expect(m).toMatch(/modelpin_infer_batch_size_bucket\{le="16",[^}]*\} (\d+)\n[^\n]*le="32"[^}]*\} \1\n/);
  });
});

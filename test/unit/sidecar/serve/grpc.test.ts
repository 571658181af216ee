// The Open Inference Protocol over gRPC, in-process: real ONNX Runtime sessions, real sockets on
// 127.0.0.1, a real gRPC client (@grpc/grpc-js) with messages from the .proto files. The same
// server answers REST, so every error case is also sent over REST and both answers compared.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC, WIRE_STATUS, type ErrorCode } from '../../../../src/errors.js';
import { serveConfig } from '../../../../sidecar/config.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { silentLogger } from '../../../../sidecar/log.js';
import { toHalfBits } from '../../../../sidecar/serve/datatypes.js';
import { startServe } from '../../../../sidecar/serve/index.js';
import { buildModel } from '../../../fixtures/onnx/builder.js';
import { ALL_TYPES, allTypesModel, mlpModel, slowModel } from '../../../fixtures/onnx/models.js';
import { freePort } from '../../../tools/net.js';
import { generate, OUT } from '../../../tools/gen-grpc-descriptors.mjs';
import { msg, STATUS, TestClient } from './grpc-support.js';
import { get, post, startServer, testConfig, writeModel, type Fixture, type Running } from './support.js';

/** [2,2] tensors per datatype, little-endian, and the same values for typed contents. */
const RAW: Record<string, Buffer> = {};
const TYPED: Record<string, unknown[]> = {
  BOOL: [true, false, false, true],
  UINT8: [0, 255, 7, 128],
  UINT16: [0, 65535, 1, 2],
  UINT32: [0, 4294967295, 3, 4],
  UINT64: ['0', '18446744073709551615', '9007199254740993', '5'],
  INT8: [-128, 127, 0, -1],
  INT16: [-32768, 32767, 0, 1],
  INT32: [-2147483648, 2147483647, 0, -5],
  INT64: ['-9223372036854775808', '9223372036854775807', '-9007199254740993', '42'],
  FP32: [1.5, Math.fround(-0.1), Math.fround(3.4028234663852886e38), Math.fround(1e-45)],
  FP64: [0.1, -1e308, 5e-324, 123.456],
  BYTES: ['a', 'h\u00e9llo', '', '\u65e5\u672c'],
};
const FIELD: Record<string, string> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};
{
  const typed = (v2: string): ArrayBufferView => {
    const v = TYPED[v2]!;
    switch (v2) {
      case 'BOOL':
        return Uint8Array.from(v as boolean[], (b) => (b ? 1 : 0));
      case 'UINT8':
        return Uint8Array.from(v as number[]);
      case 'UINT16':
        return Uint16Array.from(v as number[]);
      case 'UINT32':
        return Uint32Array.from(v as number[]);
      case 'UINT64':
        return BigUint64Array.from(v as string[], BigInt);
      case 'INT8':
        return Int8Array.from(v as number[]);
      case 'INT16':
        return Int16Array.from(v as number[]);
      case 'INT32':
        return Int32Array.from(v as number[]);
      case 'INT64':
        return BigInt64Array.from(v as string[], BigInt);
      case 'FP32':
        return Float32Array.from(v as number[]);
      default:
        return Float64Array.from(v as number[]);
    }
  };
  for (const t of ALL_TYPES) {
    if (t.v2 === 'BYTES') {
      RAW[t.v2] = Buffer.concat(
        (TYPED.BYTES as string[]).flatMap((s) => {
          const b = Buffer.from(s, 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32LE(b.length);
          return [len, b];
        }),
      );
    } else if (t.v2 === 'FP16') {
      RAW[t.v2] = Buffer.from(Uint16Array.from([1.5, -2, 65504, 0.1], toHalfBits).buffer);
    } else {
      const a = typed(t.v2);
      RAW[t.v2] = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    }
  }
}

const bytesOf = (x: unknown) => Buffer.from(x as Uint8Array);
const typedValues = (v2: string) => (v2 === 'BYTES' ? (TYPED.BYTES as string[]).map((s) => Buffer.from(s)) : TYPED[v2]);

describe('gRPC: generated descriptors', () => {
  it('descriptors.generated.ts is what the .proto files generate (node test/tools/gen-grpc-descriptors.mjs)', () => {
    expect(readFileSync(OUT, 'utf8')).toBe(generate());
  });
});

describe('gRPC: every datatype, raw and typed contents, one request path with REST', () => {
  let fx: Fixture;
  let srv: Running;
  let c: TestClient;
  beforeAll(async () => {
    fx = writeModel(allTypesModel());
    srv = await startServer(fx, { name: 'types', modelVersion: '7', grpcPort: await freePort() });
    await srv.handle.ready;
    c = new TestClient(srv.handle.grpcPort!);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
    fx.cleanup();
  });

  it('round-trips all 13 datatypes in raw_input_contents → raw_output_contents, bit for bit, with id echo', async () => {
    const inputs = ALL_TYPES.map((t) => ({ name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2] }));
    const r = await c.inferRaw({ model_name: 'types', model_version: '7', id: 'g-1', inputs, raw_input_contents: ALL_TYPES.map((t) => RAW[t.v2]) });
    expect(r.details).toBe('');
    const res = r.res as unknown as { model_name: string; model_version: string; id: string; outputs: { name: string; datatype: string; shape: { toNumber(): number }[] }[]; raw_output_contents: Buffer[] };
    expect([res.model_name, res.model_version, res.id]).toEqual(['types', '7', 'g-1']);
    expect(res.raw_output_contents).toHaveLength(res.outputs.length);
    for (const t of ALL_TYPES) {
      const k = res.outputs.findIndex((o) => o.name === `out_${t.suffix}`);
      expect(res.outputs[k]!.datatype).toBe(t.v2);
      expect(res.outputs[k]!.shape.map((d) => d.toNumber())).toEqual([2, 2]);
      expect(bytesOf(res.raw_output_contents[k]).equals(RAW[t.v2]!), t.v2).toBe(true);
    }
    const sum = res.outputs.findIndex((o) => o.name === 'sum_f32');
    const f = new Float32Array(Uint8Array.from(res.raw_output_contents[sum]!).buffer);
    expect(Array.from(f)).toEqual((TYPED.FP32 as number[]).map((v) => Math.fround(v + v)));
    // The same tensors through REST's binary extension: the same bytes out, output for output.
    const header = Buffer.from(JSON.stringify({ inputs: inputs.map((t, i) => ({ ...t, parameters: { binary_data_size: RAW[ALL_TYPES[i]!.v2]!.length } })), parameters: { binary_data_output: true } }));
    const http = await fetch(srv.url('/v2/models/types/versions/7/infer'), {
      method: 'POST',
      headers: { 'Inference-Header-Content-Length': String(header.length) },
      body: Buffer.concat([header, ...ALL_TYPES.map((t) => RAW[t.v2]!)]),
    });
    const all = Buffer.from(await http.arrayBuffer());
    const hlen = Number(http.headers.get('inference-header-content-length'));
    const head = JSON.parse(all.subarray(0, hlen).toString()) as { outputs: { name: string; parameters: { binary_data_size: number } }[] };
    let off = hlen;
    for (const o of head.outputs) {
      const bytes = all.subarray(off, off + o.parameters.binary_data_size);
      off += o.parameters.binary_data_size;
      expect(bytes.equals(bytesOf(res.raw_output_contents[res.outputs.findIndex((x) => x.name === o.name)])), o.name).toBe(true);
    }
    expect(head.outputs).toHaveLength(res.outputs.length);
  });

  it('refuses a typed FP16 input: FP16 has no typed contents field', async () => {
    const inputs = ALL_TYPES.map((t) => ({ name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2], contents: t.v2 === 'FP16' ? {} : { [FIELD[t.v2]!]: typedValues(t.v2) } }));
    // An FP16 input cannot be typed: refused with the precise message.
    expect(await c.infer({ model_name: 'types', inputs })).toEqual({ code: STATUS.INVALID_ARGUMENT, details: "input 'in_f16' is FP16, which has no typed contents field; send it in raw_input_contents" });
  });
});

describe('gRPC: typed contents for the 12 datatypes that have a typed field', () => {
  const TYPES = ALL_TYPES.filter((t) => t.v2 !== 'FP16');
  let fx: Fixture;
  let srv: Running;
  let c: TestClient;
  beforeAll(async () => {
    fx = writeModel(
      buildModel({
        name: 'typed',
        inputs: TYPES.map((t) => ({ name: `in_${t.suffix}`, type: t.type, shape: ['N', 2] })),
        outputs: [...TYPES.map((t) => ({ name: `out_${t.suffix}`, type: t.type, shape: ['N', 2] })), { name: 'half_f32', type: 'FLOAT16' as const, shape: ['N', 2] }],
        nodes: [
          ...TYPES.map((t) => ({ op: 'Identity', inputs: [`in_${t.suffix}`], outputs: [`out_${t.suffix}`] })),
          // An FP16 output of a request that can be all typed: ONNX Cast to FLOAT16 (10).
          { op: 'Cast', inputs: ['in_f32'], outputs: ['half_f32'], attrs: { to: 10 } },
        ],
      }),
    );
    srv = await startServer(fx, { name: 'typed', grpcPort: await freePort() });
    await srv.handle.ready;
    c = new TestClient(srv.handle.grpcPort!);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
    fx.cleanup();
  });

  it('typed in → typed out, values exact (64-bit extremes included), in the requested order; the same as raw', async () => {
    const outputs = [...TYPES].reverse().map((t) => ({ name: `out_${t.suffix}` }));
    const typed = await c.infer({ model_name: 'typed', id: 't', inputs: TYPES.map((t) => ({ name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2], contents: { [FIELD[t.v2]!]: typedValues(t.v2) } })), outputs });
    expect(typed.details).toBe('');
    expect(typed.body.raw_output_contents).toEqual([]);
    expect(typed.body.outputs.map((o: { name: string }) => o.name)).toEqual(outputs.map((o) => o.name));
    for (const t of TYPES) {
      const o = typed.body.outputs.find((x: { name: string }) => x.name === `out_${t.suffix}`);
      expect(o.datatype).toBe(t.v2);
      expect(o.shape).toEqual(['2', '2']);
      const got = o.contents[FIELD[t.v2]!];
      const want = t.v2 === 'BYTES' ? (TYPED.BYTES as string[]).map((x) => Buffer.from(x)) : TYPED[t.v2];
      expect(got, t.v2).toEqual(want);
    }
    const raw = await c.inferRaw({ model_name: 'typed', inputs: TYPES.map((t) => ({ name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2] })), raw_input_contents: TYPES.map((t) => RAW[t.v2]), outputs: TYPES.map((t) => ({ name: `out_${t.suffix}` })) });
    const res = raw.res as unknown as { outputs: { name: string }[]; raw_output_contents: Buffer[] };
    for (const t of TYPES) expect(bytesOf(res.raw_output_contents[res.outputs.findIndex((o) => o.name === `out_${t.suffix}`)]).equals(RAW[t.v2]!), t.v2).toBe(true);
  });

  it('a typed request whose answer has an FP16 output is answered in raw_output_contents, every output', async () => {
    const r = await c.inferRaw({
      model_name: 'typed',
      inputs: TYPES.map((t) => ({ name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2], contents: { [FIELD[t.v2]!]: typedValues(t.v2) } })),
      outputs: [{ name: 'half_f32' }, { name: 'out_f32' }],
    });
    const res = r.res as unknown as { outputs: { name: string; datatype: string; contents?: unknown }[]; raw_output_contents: Buffer[] };
    expect(res.outputs.map((o) => [o.name, o.datatype])).toEqual([['half_f32', 'FP16'], ['out_f32', 'FP32']]);
    expect(res.raw_output_contents).toHaveLength(2);
    expect(Array.from(new Uint16Array(Uint8Array.from(res.raw_output_contents[0]!).buffer))).toEqual((TYPED.FP32 as number[]).map(toHalfBits));
    expect(bytesOf(res.raw_output_contents[1]).equals(RAW.FP32!)).toBe(true);
  });
});

describe('gRPC: typed contents answers (mlp and a one-input-per-type view)', () => {
  let fx: Fixture;
  let srv: Running;
  let c: TestClient;
  beforeAll(async () => {
    fx = writeModel(mlpModel());
    srv = await startServer(fx, { grpcPort: await freePort() });
    await srv.handle.ready;
    c = new TestClient(srv.handle.grpcPort!);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
    fx.cleanup();
  });

  it('typed FP32 in, typed FP32 out, equal to REST JSON and to raw contents', async () => {
    const x = Array.from({ length: 128 }, (_, i) => Math.fround(Math.sin(i)));
    const typed = await c.infer({ model_name: 'm', id: 'x', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], contents: { fp32_contents: x } }] });
    expect(typed.code).toBe(0);
    expect(typed.body.id).toBe('x');
    expect(typed.body.raw_output_contents).toEqual([]);
    const out = typed.body.outputs[0];
    expect(out).toMatchObject({ name: 'logits', datatype: 'FP32', shape: ['2', '10'] });
    const rest = await post(srv.url('/v2/models/m/infer'), { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data: x }] });
    expect(out.contents.fp32_contents).toEqual(rest.json.outputs[0].data);
    const raw = await c.inferRaw({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64] }], raw_input_contents: [Buffer.from(Float32Array.from(x).buffer)] });
    const f = Array.from(new Float32Array(Uint8Array.from((raw.res as unknown as { raw_output_contents: Buffer[] }).raw_output_contents[0]!).buffer));
    expect(f).toEqual(rest.json.outputs[0].data);
  });
});

describe('gRPC: every malformed request gets its status and REST’s message', () => {
  let types: Fixture;
  let mlp: Fixture;
  let srv: Running;
  let mlpSrv: Running;
  let c: TestClient;
  let cm: TestClient;
  beforeAll(async () => {
    types = writeModel(allTypesModel());
    mlp = writeModel(mlpModel());
    srv = await startServer(types, { name: 'types', modelVersion: '7', grpcPort: await freePort(), maxBatchSize: 4 });
    mlpSrv = await startServer(mlp, { grpcPort: await freePort(), maxBodyBytes: 4096 });
    await Promise.all([srv.handle.ready, mlpSrv.handle.ready]);
    c = new TestClient(srv.handle.grpcPort!);
    cm = new TestClient(mlpSrv.handle.grpcPort!);
  });
  afterAll(async () => {
    c.close();
    cm.close();
    await srv.stop();
    await mlpSrv.stop();
    types.cleanup();
    mlp.cleanup();
  });

  const f32 = (name: string, shape: number[], n = shape.reduce((a, b) => a * b, 1)) => ({ name, datatype: 'FP32', shape, data: Array.from({ length: n }, (_, i) => i) });
  const allInputs = (over: Record<string, Record<string, unknown>> = {}) =>
    ALL_TYPES.map((t) => ({ name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2], ...over[t.suffix] }));

  /** Same mistake both ways: REST JSON (binary extension for raw bytes) and gRPC raw contents. */
  const cases: { what: string; code: ErrorCode; rest: () => Promise<{ status: number; json: { error: string } }>; grpc: () => Promise<{ code: number; details: string }> }[] = [
    {
      what: 'unknown model',
      code: 'MODELPIN_E_NOT_FOUND',
      rest: () => post(srv.url('/v2/models/nope/infer'), { inputs: [] }),
      grpc: () => c.infer({ model_name: 'nope', inputs: [] }),
    },
    {
      what: 'unknown version',
      code: 'MODELPIN_E_NOT_FOUND',
      rest: () => post(srv.url('/v2/models/types/versions/8/infer'), { inputs: [] }),
      grpc: () => c.infer({ model_name: 'types', model_version: '8', inputs: [] }),
    },
    {
      what: 'unknown input',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(mlpSrv.url('/v2/models/m/infer'), { inputs: [f32('nope', [1, 64])] }),
      grpc: () => cm.infer({ model_name: 'm', inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256)] }),
    },
    {
      what: 'wrong datatype',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(mlpSrv.url('/v2/models/m/infer'), { inputs: [{ ...f32('input', [1, 64]), datatype: 'INT32' }] }),
      grpc: () => cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'INT32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256)] }),
    },
    {
      what: 'wrong rank',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(mlpSrv.url('/v2/models/m/infer'), { inputs: [f32('input', [64])] }),
      grpc: () => cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [64] }], raw_input_contents: [Buffer.alloc(256)] }),
    },
    {
      what: 'wrong fixed dimension',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(mlpSrv.url('/v2/models/m/infer'), { inputs: [f32('input', [1, 63])] }),
      grpc: () => cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 63] }], raw_input_contents: [Buffer.alloc(252)] }),
    },
    {
      what: 'negative dimension',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(mlpSrv.url('/v2/models/m/infer'), { inputs: [{ ...f32('input', [1, 64]), shape: [-1, 64] }] }),
      grpc: () => cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }], raw_input_contents: [Buffer.alloc(256)] }),
    },
    {
      what: 'raw size does not match the shape',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: async () => {
        const h = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], parameters: { binary_data_size: 255 } }] }));
        return post(mlpSrv.url('/v2/models/m/infer'), Buffer.concat([h, Buffer.alloc(255)]), { 'Inference-Header-Content-Length': String(h.length) });
      },
      grpc: () => cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(255)] }),
    },
    {
      what: 'BYTES element that is not UTF-8',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: async () => {
        const inputs = allInputs({ str: { parameters: { binary_data_size: 16 } } }).map((t) => (t.name === 'in_str' ? t : { ...t, data: t.datatype === 'BOOL' ? [true, true, true, true] : t.datatype === 'BYTES' ? ['a', 'b', 'c', 'd'] : [1, 2, 3, 4] }));
        const h = Buffer.from(JSON.stringify({ inputs: inputs.filter((t) => t.datatype !== 'FP16').concat(inputs.filter((t) => t.datatype === 'FP16').map((t) => ({ ...t, data: [1, 2, 3, 4] }))) }));
        const bad = Buffer.from([1, 0, 0, 0, 0xff, 1, 0, 0, 0, 0x61, 1, 0, 0, 0, 0x62, 0]).subarray(0, 16);
        return post(srv.url('/v2/models/types/infer'), Buffer.concat([h, bad]), { 'Inference-Header-Content-Length': String(h.length) });
      },
      grpc: () =>
        c.infer({
          model_name: 'types',
          inputs: allInputs(),
          raw_input_contents: ALL_TYPES.map((t) => (t.v2 === 'BYTES' ? Buffer.from([1, 0, 0, 0, 0xff, 1, 0, 0, 0, 0x61, 1, 0, 0, 0, 0x62, 0]) : RAW[t.v2])),
        }),
    },
    {
      what: 'missing input',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(srv.url('/v2/models/types/infer'), { inputs: [{ name: 'in_f32', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] }] }),
      grpc: () => c.infer({ model_name: 'types', inputs: [{ name: 'in_f32', datatype: 'FP32', shape: [2, 2] }], raw_input_contents: [RAW.FP32] }),
    },
    {
      what: 'input given twice',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(mlpSrv.url('/v2/models/m/infer'), { inputs: [f32('input', [1, 64]), f32('input', [1, 64])] }),
      grpc: () =>
        cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }, { name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256), Buffer.alloc(256)] }),
    },
    {
      what: 'unknown output',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(mlpSrv.url('/v2/models/m/infer'), { inputs: [f32('input', [1, 64])], outputs: [{ name: 'probs' }] }),
      grpc: () => cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256)], outputs: [{ name: 'probs' }] }),
    },
    {
      what: 'more rows than --max-batch-size',
      code: 'MODELPIN_E_INFER_INVALID',
      rest: () => post(srv.url('/v2/models/types/infer'), { inputs: [{ name: 'in_f32', datatype: 'FP32', shape: [5, 2], data: Array(10).fill(1) }] }),
      grpc: () => c.infer({ model_name: 'types', inputs: [{ name: 'in_f32', datatype: 'FP32', shape: [5, 2] }], raw_input_contents: [Buffer.alloc(40)] }),
    },
  ];

  for (const k of cases) {
    it(`${k.what}: ${GRPC_NAME(WIRE_STATUS[k.code]!.grpc)} with REST's ${WIRE_STATUS[k.code]!.http} message`, async () => {
      const [r, g] = await Promise.all([k.rest(), k.grpc()]);
      expect(r.status).toBe(WIRE_STATUS[k.code]!.http);
      expect(g.code).toBe(WIRE_STATUS[k.code]!.grpc);
      expect(g.details).toBe(r.json.error);
    });
  }

  it('gRPC-only mistakes are INVALID_ARGUMENT with a message naming the tensor and the fix', async () => {
    const one = (contents: Record<string, unknown>, shape = [1, 64], datatype = 'FP32') => cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype, shape, contents }] });
    const table: [Promise<{ code: number; details: string }>, string][] = [
      [one({ int_contents: [1] }), "input 'input' is FP32 but its data is in int_contents; FP32 data goes in fp32_contents"],
      [one({ fp32_contents: [1, 2, 3] }), "input 'input': fp32_contents has 3 elements but shape [1,64] needs 64"],
      [one({}), "input 'input': fp32_contents has 0 elements but shape [1,64] needs 64"],
      [cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256), Buffer.alloc(4)] }), 'raw_input_contents has 2 entries but the request has 1 inputs; give one per input, in the order of "inputs"'],
      [
        cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: [1] } }], raw_input_contents: [Buffer.alloc(256)] }),
        "input 'input' has fp32_contents but the request also has raw_input_contents; send every input one way",
      ],
      [cm.infer({ model_name: 'm', inputs: [] }), '"inputs" must be a non-empty list of tensors'],
      [c.infer({ model_name: 'types', inputs: allInputs({ i8: { contents: { int_contents: [1, 300, 2, 3] } } }).filter((t) => t.name === 'in_i8') }), "input 'in_i8': element 1 (300) is not a valid INT8 value (integers from -128 to 127)"],
    ];
    for (const [p, details] of table) expect(await p).toEqual({ code: STATUS.INVALID_ARGUMENT, details });
    // Not a ModelInferRequest at all (a truncated varint): INVALID_ARGUMENT, never INTERNAL.
    const junk = await cm.infer(Buffer.from([0x0a, 0xff]));
    expect(junk.code).toBe(STATUS.INVALID_ARGUMENT);
    expect(junk.details).toMatch(/^the request is not a valid ModelInferRequest message: /);
  });

  it('a message over --max-body-bytes is RESOURCE_EXHAUSTED (REST: 413), refused from its length prefix', async () => {
    const big = await cm.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [20, 64] }], raw_input_contents: [Buffer.alloc(20 * 256)] });
    expect(big.code).toBe(WIRE_STATUS.MODELPIN_E_TOO_LARGE!.grpc);
    // grpc-js refuses it before any handler runs, with its own wording (both sizes named).
    expect(big.details).toMatch(/^Received message larger than max \(\d+ vs 4096\)$/);
    expect((await cm.call('ServerLive', 'inference.ServerLiveRequest', {})).body).toEqual({ live: true });
  });

  it('metadata, config, statistics, repository index and readiness answer like REST', async () => {
    const meta = await c.call('ModelMetadata', 'inference.ModelMetadataRequest', { name: 'types', version: '7' });
    const restMeta = (await get(srv.url('/v2/models/types/versions/7'))).json;
    expect(meta.body).toEqual({
      name: 'types',
      versions: ['7'],
      platform: 'onnxruntime_onnx',
      inputs: restMeta.inputs.map((t: { shape: number[] }) => ({ ...t, shape: t.shape.map(String) })),
      outputs: restMeta.outputs.map((t: { shape: number[] }) => ({ ...t, shape: t.shape.map(String) })),
    });
    const cfg = (await c.call('ModelConfig', 'inference.ModelConfigRequest', { name: 'types' })).body.config;
    const restCfg = (await get(srv.url('/v2/models/types/config'))).json;
    expect(cfg).toMatchObject({ name: 'types', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: restCfg.max_batch_size, version_policy: { specific: { versions: ['7'] } } });
    expect(cfg.input.map((t: { name: string; data_type: string; dims: string[] }) => [t.name, t.data_type, t.dims.map(Number)])).toEqual(restCfg.input.map((t: { name: string; data_type: string; dims: number[] }) => [t.name, t.data_type, t.dims]));
    expect(cfg.dynamic_batching).toBeDefined();
    const stats = (await c.call('ModelStatistics', 'inference.ModelStatisticsRequest', { name: 'types' })).body.model_stats[0];
    expect(stats).toMatchObject({ name: 'types', version: '7' });
    expect(Number(stats.inference_stats.fail.count)).toBeGreaterThan(0);
    expect((await c.call('ModelStatistics', 'inference.ModelStatisticsRequest', { name: 'x' })).code).toBe(STATUS.NOT_FOUND);
    expect((await c.call('RepositoryIndex', 'inference.RepositoryIndexRequest', {})).body.models).toEqual([{ name: 'types', version: '7', state: 'READY', reason: '' }]);
    expect((await c.call('ServerReady', 'inference.ServerReadyRequest', {})).body).toEqual({ ready: true });
    expect((await c.call('ModelReady', 'inference.ModelReadyRequest', { name: 'types' })).body).toEqual({ ready: true });
    expect(await c.call('ModelReady', 'inference.ModelReadyRequest', { name: 'nope' })).toEqual({ code: STATUS.NOT_FOUND, details: "unknown model 'nope'; this server serves 'types'" });
    expect((await c.call('ServerMetadata', 'inference.ServerMetadataRequest', {})).body).toMatchObject({ name: 'modelpin', extensions: expect.arrayContaining(['model_configuration']) });
    // A Triton RPC this server does not implement: UNIMPLEMENTED, not a crash.
    expect((await c.call('ModelStreamInfer', 'inference.ServerLiveRequest', {})).code).toBe(STATUS.UNIMPLEMENTED);
  });

  it("a handler's unexpected exception is INTERNAL with REST's 500 message, and the server keeps serving", async () => {
    const svc = mlpSrv.handle.service;
    const original = svc.metadata.bind(svc);
    svc.metadata = () => {
      throw new TypeError('boom: a bug in a handler');
    };
    try {
      const r = await get(mlpSrv.url('/v2/models/m'));
      const g = await cm.call('ModelMetadata', 'inference.ModelMetadataRequest', { name: 'm' });
      expect(r.status).toBe(500);
      expect(g).toEqual({ code: WIRE_STATUS.MODELPIN_E_INFER_FAILED!.grpc, details: r.json.error });
    } finally {
      svc.metadata = original;
    }
    expect((await cm.call('ModelMetadata', 'inference.ModelMetadataRequest', { name: 'm' })).code).toBe(0);
  });

  it('counts gRPC requests under protocol="grpc" in the same metrics', async () => {
    const m = (await get(srv.url('/metrics'))).text;
    expect(Number(/modelpin_infer_requests_total\{model="types",version="7",protocol="grpc",outcome="failure"\} (\d+)/.exec(m)![1])).toBeGreaterThan(0);
    expect(m).toMatch(/modelpin_infer_request_duration_seconds_count\{model="types",version="7",protocol="grpc"\} [1-9]/);
  });
});

describe('gRPC: not ready, overload, health and drain', () => {
  it('before ready: UNAVAILABLE with REST’s 503 message; Health NOT_SERVING; ServerLive true', async () => {
    const fx = writeModel(mlpModel());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const cfg = { ...testConfig(fx), grpcPort: await freePort() };
    const handle = await startServe(cfg, { fetch: async (o) => (await gate, fetchArtifact(o)), log: silentLogger });
    const c = new TestClient(handle.grpcPort!);
    const g = await c.infer({ model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256)] });
    const r = await post(`http://127.0.0.1:${handle.port}/v2/models/m/infer`, { inputs: [] });
    expect(r.status).toBe(503);
    expect(g).toEqual({ code: STATUS.UNAVAILABLE, details: r.json.error });
    expect((await c.call('/grpc.health.v1.Health/Check', 'grpc.health.v1.HealthCheckRequest', {})).body).toEqual({ status: 'NOT_SERVING' });
    expect((await c.call('ServerLive', 'inference.ServerLiveRequest', {})).body).toEqual({ live: true });
    expect((await c.call('ServerReady', 'inference.ServerReadyRequest', {})).body).toEqual({ ready: false });
    expect((await c.call('ModelMetadata', 'inference.ModelMetadataRequest', { name: 'm' })).code).toBe(STATUS.UNAVAILABLE);
    release();
    await handle.ready;
    expect((await c.call('/grpc.health.v1.Health/Check', 'grpc.health.v1.HealthCheckRequest', {})).body).toEqual({ status: 'SERVING' });
    expect((await c.call('/grpc.health.v1.Health/Check', 'grpc.health.v1.HealthCheckRequest', { service: 'inference.GRPCInferenceService' })).body).toEqual({ status: 'SERVING' });
    expect((await c.call('/grpc.health.v1.Health/Check', 'grpc.health.v1.HealthCheckRequest', { service: 'other' })).code).toBe(STATUS.NOT_FOUND);
    c.close();
    await handle.shutdown();
    fx.cleanup();
  });

  it('a full queue is RESOURCE_EXHAUSTED with REST’s overload message', async () => {
    const fx = writeModel(slowModel(512));
    const srv = await startServer(fx, { name: 's', maxBatchSize: 1, maxQueue: 1, grpcPort: await freePort() });
    await srv.handle.ready;
    const c = new TestClient(srv.handle.grpcPort!);
    const rows = 200;
    const long = c.infer({ model_name: 's', inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 1] }], raw_input_contents: [Buffer.alloc(rows * 4)] });
    while (srv.handle.service.busyWorkers === 0) await new Promise((r) => setTimeout(r, 5));
    const small = { model_name: 's', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1] }], raw_input_contents: [Buffer.alloc(4)] };
    const queued = c.infer(small);
    while (srv.handle.service.inFlight < 2) await new Promise((r) => setTimeout(r, 5));
    const refused = await c.infer(small);
    const rest = await post(srv.url('/v2/models/s/infer'), { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });
    expect(rest.status).toBe(503);
    expect(refused).toEqual({ code: STATUS.RESOURCE_EXHAUSTED, details: rest.json.error });
    expect((await long).code).toBe(0);
    expect((await queued).code).toBe(0);
    c.close();
    await srv.stop();
    fx.cleanup();
  }, 120_000);

  it('drain: Health turns NOT_SERVING (Check and Watch) at once, inference is still answered during the delay, then the port closes', async () => {
    const fx = writeModel(mlpModel());
    const srv = await startServer(fx, { grpcPort: await freePort(), drainDelaySeconds: 1 });
    await srv.handle.ready;
    const c = new TestClient(srv.handle.grpcPort!);
    const seen: string[] = [];
    const HC = msg('grpc.health.v1.HealthCheckResponse');
    const watch = c.client.makeServerStreamRequest('/grpc.health.v1.Health/Watch', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0));
    watch.on('data', (b: Buffer) => seen.push(HC.toObject(HC.decode(b), { enums: String }).status as string));
    const watchEnd = new Promise<void>((r) => {
      watch.on('end', () => r());
      watch.on('error', () => r());
    });
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    const req = { model_name: 'm', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256)] };
    const stopped = srv.handle.shutdown();
    expect((await c.call('/grpc.health.v1.Health/Check', 'grpc.health.v1.HealthCheckRequest', {})).body).toEqual({ status: 'NOT_SERVING' });
    expect((await c.infer(req)).code).toBe(0);
    expect(await stopped).toBe(true);
    await watchEnd;
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    c.close();
    const after = new TestClient(srv.handle.grpcPort!);
    expect((await after.infer(req)).code).toBe(STATUS.UNAVAILABLE);
    after.close();
    fx.cleanup();
  });
});

describe('gRPC: reflection, configuration, listen errors', () => {
  it('lists the services and returns the file that defines a symbol', async () => {
    const fx = writeModel(mlpModel());
    const srv = await startServer(fx, { grpcPort: await freePort() });
    const c = new TestClient(srv.handle.grpcPort!);
    const Req = msg('grpc.reflection.v1alpha.ServerReflectionRequest');
    const Res = msg('grpc.reflection.v1alpha.ServerReflectionResponse');
    for (const pkg of ['grpc.reflection.v1', 'grpc.reflection.v1alpha']) {
      const stream = c.client.makeBidiStreamRequest(`/${pkg}.ServerReflection/ServerReflectionInfo`, (b: Buffer) => b, (b: Buffer) => b);
      const answers: Record<string, unknown>[] = [];
      const done = new Promise<void>((r) => stream.on('end', () => r()));
      stream.on('data', (b: Buffer) => answers.push(Res.toObject(Res.decode(b), { defaults: false, bytes: Buffer as never })));
      for (const q of [{ list_services: '' }, { file_containing_symbol: 'inference.GRPCInferenceService' }, { file_by_filename: 'nope.proto' }]) stream.write(Buffer.from(Req.encode(Req.fromObject(q)).finish()));
      stream.end();
      await done;
      expect(answers[0]!.list_services_response).toEqual({ service: [{ name: 'inference.GRPCInferenceService' }, { name: 'grpc.health.v1.Health' }, { name: 'grpc.reflection.v1alpha.ServerReflection' }] });
      const fd = (answers[1]!.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto[0]!;
      expect(fd.toString('latin1')).toContain('GRPCInferenceService');
      expect((answers[2]!.error_response as { error_code: number }).error_code).toBe(GRPC.NOT_FOUND);
    }
    c.close();
    await srv.stop();
    fx.cleanup();
  });

  it('--grpc-port defaults to 8081; 0 turns gRPC off', async () => {
    const base = { uri: 'file:///m.onnx', digest: `sha256:${'a'.repeat(64)}`, name: 'm' };
    expect(serveConfig(base, {}).grpcPort).toBe(8081);
    expect(serveConfig({ ...base, 'grpc-port': '0' }, {}).grpcPort).toBe(0);
    expect(serveConfig(base, { MODELPIN_GRPC_PORT: '9001' }).grpcPort).toBe(9001);
    expect(() => serveConfig({ ...base, 'grpc-port': '70000' }, {})).toThrow('--grpc-port must be an integer from 0 to 65535, got "70000"');
    const fx = writeModel(mlpModel());
    const srv = await startServer(fx);
    expect(srv.handle.grpcPort).toBeUndefined();
    await srv.stop();
    fx.cleanup();
  });

  it('a gRPC port in use is MODELPIN_E_SERVE_CONFIG naming --grpc-port, and the REST port is released', async () => {
    const fx = writeModel(mlpModel());
    const first = await startServer(fx, { grpcPort: await freePort() });
    const port = first.handle.grpcPort!;
    await expect(startServe({ ...testConfig(fx), grpcPort: port }, { fetch: fetchArtifact, log: silentLogger })).rejects.toMatchObject({
      code: 'MODELPIN_E_SERVE_CONFIG',
      message: `cannot listen for gRPC on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)`,
    });
    await first.stop();
    fx.cleanup();
  });
});

describe('gRPC: seeded fuzz of ModelInferRequest messages', () => {
  let fx: Fixture;
  let srv: Running;
  let c: TestClient;
  beforeAll(async () => {
    fx = writeModel(allTypesModel());
    srv = await startServer(fx, { name: 'types', grpcPort: await freePort(), maxBatchSize: 8, maxBodyBytes: 1 << 20 });
    await srv.handle.ready;
    c = new TestClient(srv.handle.grpcPort!);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
    fx.cleanup();
  });

  it('2,000 random and mutated messages: never INTERNAL or UNKNOWN, and the server stays up', async () => {
    let seed = 0x5eed1234;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    const DATATYPES = [...ALL_TYPES.map((t) => t.v2), 'BF16', '', 'fp32', 'STRING'];
    const NAMES = [...ALL_TYPES.map((t) => `in_${t.suffix}`), 'x', '', '\u0000', 'in_f32\u0000'];
    const FIELDS = Object.values(FIELD);
    const value = (f: string) => {
      switch (f) {
        case 'bool_contents':
          return rand() < 0.5;
        case 'bytes_contents':
          return Buffer.from(Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * 256)));
        case 'int64_contents':
        case 'uint64_contents':
          return pick(['0', '-1', '9223372036854775807', '18446744073709551615', String(Math.floor(rand() * 1e6))]);
        case 'fp32_contents':
        case 'fp64_contents':
          return pick([0, -0, 1.5, NaN, Infinity, -1e308, 3e38]);
        default:
          return pick([0, -1, 255, 65536, 2147483647, -2147483648, 300]);
      }
    };
    const randomMessage = (): Buffer => {
      const n = Math.floor(rand() * 4);
      const inputs = Array.from({ length: n }, () => {
        const shape = Array.from({ length: Math.floor(rand() * 4) }, () => pick([0, 1, 2, 3, -1, 1e6, 2 ** 40, '9223372036854775807']));
        const t: Record<string, unknown> = { name: pick(NAMES), datatype: pick(DATATYPES), shape };
        if (rand() < 0.5) {
          const f = pick(FIELDS);
          t.contents = { [f]: Array.from({ length: Math.floor(rand() * 9) }, () => value(f)) };
        }
        return t;
      });
      const raws = rand() < 0.5 ? Array.from({ length: Math.floor(rand() * 4) }, () => Buffer.alloc(pick([0, 1, 4, 8, 16, 17, 32]), Math.floor(rand() * 256))) : [];
      const m: Record<string, unknown> = { model_name: rand() < 0.9 ? 'types' : pick(['', 'x']), id: pick(['', 'a', 'é']), inputs, raw_input_contents: raws };
      if (rand() < 0.3) m.outputs = [{ name: pick(['out_f32', 'sum_f32', 'nope', '']) }];
      if (rand() < 0.2) m.parameters = { k: pick([{ bool_param: true }, { int64_param: '-5' }, { string_param: 'x' }]) };
      const T = msg('inference.ModelInferRequest');
      return Buffer.from(T.encode(T.fromObject(m)).finish());
    };
    // A valid message, mutated byte-wise: flips, truncations, insertions, length-prefix damage.
    const valid = (() => {
      const T = msg('inference.ModelInferRequest');
      const inputs = ALL_TYPES.map((t) => ({ name: `in_${t.suffix}`, datatype: t.v2, shape: [2, 2] }));
      return Buffer.from(T.encode(T.fromObject({ model_name: 'types', inputs, raw_input_contents: ALL_TYPES.map((t) => RAW[t.v2]) })).finish());
    })();
    const mutated = (): Buffer => {
      const b = Buffer.from(valid);
      const k = 1 + Math.floor(rand() * 4);
      let out = b;
      for (let i = 0; i < k; i++) {
        const at = Math.floor(rand() * out.length);
        switch (Math.floor(rand() * 4)) {
          case 0:
            out[at] = Math.floor(rand() * 256);
            break;
          case 1:
            out = out.subarray(0, at);
            break;
          case 2:
            out = Buffer.concat([out.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), out.subarray(at)]);
            break;
          default:
            out[at] = out[at]! ^ 0x80;
        }
      }
      return out;
    };
    const counts: Record<string, number> = {};
    const ALLOWED = new Set<number>([STATUS.OK, STATUS.INVALID_ARGUMENT, STATUS.NOT_FOUND, STATUS.RESOURCE_EXHAUSTED]);
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => c.infer(i % 2 === 0 ? randomMessage() : mutated())));
      for (const a of answers) {
        counts[STATUS[a.code]!] = (counts[STATUS[a.code]!] ?? 0) + 1;
        if (!ALLOWED.has(a.code)) throw new Error(`status ${STATUS[a.code]}: ${a.details}`);
      }
    }
    console.log('gRPC fuzz statuses:', JSON.stringify(counts));
    expect(counts.INVALID_ARGUMENT).toBeGreaterThan(500);
    expect(counts.OK ?? 0).toBeGreaterThan(0);
    expect((await c.call('ServerLive', 'inference.ServerLiveRequest', {})).body).toEqual({ live: true });
  }, 120_000);
});

function GRPC_NAME(code: number): string {
  return STATUS[code] ?? String(code);
}

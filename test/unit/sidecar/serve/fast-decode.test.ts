// The one-pass decoder must give exactly what the general decoder gives, bit for bit, or decline.
// Real models loaded in ONNX Runtime give the tensor specs; every comparison is against
// decodeGeneral (JSON.parse + validation), the path that owns all error messages.
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeGeneral, decodeRequest, type DecodedRequest } from '../../../../sidecar/serve/rest/codec.js';
import { fastDecode } from '../../../../sidecar/serve/rest/fast-decode.js';
import type { Signature } from '../../../../sidecar/serve/signature.js';
import type { RequestRules } from '../../../../sidecar/serve/validate.js';
import { buildModel } from '../../../fixtures/onnx/builder.js';
import { mlpModel, rowSumModel } from '../../../fixtures/onnx/models.js';
import { signatureOf } from './support.js';

const twoInputs = () =>
  buildModel({
    name: 'two_inputs',
    inputs: [
      { name: 'a', type: 'FLOAT', shape: ['N', 3] },
      { name: 'b', type: 'FLOAT', shape: ['N'] },
    ],
    outputs: [
      { name: 'ya', type: 'FLOAT', shape: ['N', 3] },
      { name: 'yb', type: 'FLOAT', shape: ['N'] },
    ],
    nodes: [
      { op: 'Identity', inputs: ['a'], outputs: ['ya'] },
      { op: 'Identity', inputs: ['b'], outputs: ['yb'] },
    ],
  });

const scalar = () =>
  buildModel({
    name: 'scalar',
    inputs: [{ name: 's', type: 'FLOAT', shape: [] }],
    outputs: [{ name: 'y', type: 'FLOAT', shape: [] }],
    nodes: [{ op: 'Identity', inputs: ['s'], outputs: ['y'] }],
  });

const models: Record<string, Signature> = {};
const rules = (batching: boolean): RequestRules => ({ batching, maxRows: 1 << 30, maxRowsSetting: '--max-request-rows' });

beforeAll(async () => {
  for (const [name, bytes] of Object.entries({ mlp: mlpModel(), rowSum: rowSumModel(), two: twoInputs(), scalar: scalar() })) {
    models[name] = await signatureOf(bytes);
  }
});

/** Bit-exact view of a decoded request (Float32 data as raw bits, so -0 and NaN payloads count). */
function bits(d: DecodedRequest): unknown {
  return {
    ...d,
    inputs: d.inputs.map((t) => ({ dims: t.dims, bits: Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer)) })),
  };
}

function agree(model: Signature, body: string, batching = true): void {
  const buf = Buffer.from(body);
  const fast = fastDecode(buf, model, rules(batching));
  expect(fast, `fast path declined: ${body.slice(0, 120)}`).toBeDefined();
  expect(bits(fast!)).toEqual(bits(decodeGeneral(buf, model, { rules: rules(batching) })));
}

const row = (name: string, values: string[], shape = `[1,${values.length}]`) =>
  `{"name":"${name}","shape":${shape},"datatype":"FP32","data":[${values.join(',')}]}`;

describe('fastDecode', () => {
  it('decodes the requests clients send exactly as the general decoder does', () => {
    const mlp = models.mlp!;
    const xs = Array.from({ length: 64 }, (_, i) => String(Math.fround(Math.sin(i) * 0.5)));
    agree(mlp, `{"inputs":[${row('input', xs)}]}`);
    // Python's json.dumps spacing, an id, keys in another order, newlines.
    agree(mlp, `{"id": "req-1", "inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [${xs.join(', ')}]}]}`);
    agree(mlp, `{\n "inputs": [\n  {"datatype":"FP32","shape":[2,64],"name":"input",\n   "data":[${[...xs, ...xs].join(',\n')}]}\n ],\n "id": "x"\n}\n`);
    agree(mlp, `{"inputs":[${row('input', xs)}]}`, false);
    // Several inputs, in either order; a scalar; an empty batch.
    const two = models.two!;
    agree(two, `{"inputs":[${row('b', ['1', '2'], '[2]')},${row('a', ['1', '2', '3', '4', '5', '6.5'], '[2,3]')}]}`);
    agree(models.scalar!, `{"inputs":[${row('s', ['-2.5e-3'], '[]')}]}`);
    agree(models.rowSum!, `{"inputs":[${row('x', [], '[0,4]')}]}`);
  });

  it('rounds every kind of number literal to the same float32 as JSON.parse + Math.fround', () => {
    const lits: string[] = ['0', '-0', '0.0', '-0.0', '1', '-1', '1e3', '1E-3', '2.5e+2', '123456789012345678901234', '0.000000000000000000000000001'];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < 4000; i++) {
      // A float32 as Python sends it (the double's 17 digits), and the midpoint to its neighbour:
      // the hardest case for rounding, printed with more and fewer digits than it needs.
      u32[0] = (rnd() * 0xff000000) >>> 0;
      const f = f32[0]!;
      if (!Number.isFinite(f)) continue;
      lits.push(String(f), f.toPrecision(17), f.toPrecision(9));
      u32[0]! += 1;
      const mid = (f + f32[0]!) / 2;
      if (Number.isFinite(mid)) lits.push(mid.toPrecision(17), mid.toPrecision(19), mid.toPrecision(25), String(mid));
      lits.push(String(rnd() * 10 ** Math.floor(rnd() * 80 - 40)), String(-rnd()), (rnd() * 1e6).toFixed(Math.floor(rnd() * 12)));
    }
    lits.push('3.4028234663852886e38', '3.4028235677973366e38', '1e39', '-1e39', '1.401298464324817e-45', '7e-46', '1.1754943508222875e-38');
    for (let i = 0; i < lits.length; i += 500) {
      const chunk = lits.slice(i, i + 500);
      agree(models.rowSum!, `{"inputs":[${row('x', chunk)}]}`);
    }
  });

  it('declines everything else, and decodeRequest then answers as the general decoder does', () => {
    const mlp = models.mlp!;
    const xs = Array.from({ length: 64 }, () => '0.5');
    const declined = [
      `{"inputs":[${row('input', xs)}],"outputs":[{"name":"logits"}]}`, // output selection
      `{"inputs":[${row('input', xs)}],"parameters":{"binary_data_output":true}}`,
      `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[${xs.join(',')}],"parameters":{}}]}`,
      `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[[${xs.join(',')}]]}]}`, // nested
      `{"inputs":[{"name":"input","shape":[1,64],"data":[${xs.join(',')}],"datatype":"FP32"}]}`, // data first
      `{"inputs":[{"name":"in\\u0070ut","shape":[1,64],"datatype":"FP32","data":[${xs.join(',')}]}]}`, // escape
      `{"inputs":[{"name":"input","shape":[1.0,64],"datatype":"FP32","data":[${xs.join(',')}]}]}`,
      `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[${[...xs.slice(1), '"NaN"'].join(',')}]}]}`,
      `{"id":"a","id":"b","inputs":[${row('input', xs)}]}`, // duplicate key: last wins in JSON.parse
      // Mistakes: each must still get the general path's precise 400.
      `{"inputs":[${row('input', xs.slice(1))}]}`,
      `{"inputs":[${row('input', xs, '[100000000000,64]')}]}`, // a shape the body cannot fill
      `{"inputs":[${row('input', xs)}]} x`,
      `{"inputs":[${row('nope', xs)}]}`,
      `{"inputs":[{"name":"input","shape":[1,64],"datatype":"INT64","data":[${xs.join(',')}]}]}`,
      `{"inputs":[${row('input', [...xs.slice(1), '01'])}]}`,
      `{"inputs":[${row('input', [...xs.slice(1), '1.'])}]}`,
      `{"inputs":[${row('input', xs)},${row('input', xs)}]}`,
      `{"inputs":[]}`,
      `{"inputs":[${row('input', xs)}`,
    ];
    for (const body of declined) {
      const buf = Buffer.from(body);
      expect(fastDecode(buf, mlp, rules(true)), body.slice(0, 100)).toBeUndefined();
      let general: unknown;
      try {
        general = bits(decodeGeneral(buf, mlp, { rules: rules(true) }));
      } catch (err) {
        general = err;
      }
      let got: unknown;
      try {
        got = bits(decodeRequest(buf, mlp, { rules: rules(true) }));
      } catch (err) {
        got = err;
      }
      expect(got).toEqual(general);
    }
    // A model with a non-FP32 input never tries the fast path.
    expect(models.mlp!.allFp32Inputs).toBe(true);
  });

  it('carves request tensors from shared buffers without overlap', () => {
    const rowSum = models.rowSum!;
    const decoded = Array.from({ length: 300 }, (_, i) => fastDecode(Buffer.from(`{"inputs":[${row('x', [String(i), `-${i}`])}]}`), rowSum, rules(true))!);
    decoded.forEach((d, i) => expect(Array.from(d.inputs[0]!.data as Float32Array)).toEqual([i, -i]));
  });
});

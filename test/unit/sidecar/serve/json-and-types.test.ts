import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalfBits } from '../../../../sidecar/serve/datatypes.js';
import { JsonSyntaxError, parseJson } from '../../../../sidecar/serve/rest/json.js';
import { mlpModel } from '../../../fixtures/onnx/models.js';
import { sha256 } from './support.js';

describe('parseJson', () => {
  it('keeps integer literals beyond 2^53 exact as BigInt, everything else as JSON.parse does', () => {
    const text = '{"a":[9007199254740993,-9223372036854775808,18446744073709551615,12,1.5,-0,1e400,"x\\n\\u00e9"],"b":{"c":null,"d":true,"e":false},"__proto__":{"p":1}}';
    const v = parseJson(text, true) as Record<string, unknown>;
    expect(v.a).toEqual([9007199254740993n, -9223372036854775808n, 18446744073709551615n, 12, 1.5, -0, Infinity, 'x\né']);
    expect(v.b).toEqual({ c: null, d: true, e: false });
    // "__proto__" stays an own data property, as with JSON.parse.
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['a', 'b', '__proto__']);
    // Without a 16-digit run, the fast path is JSON.parse and gives the same values.
    expect(parseJson('{"a":[1,2.5,"s"]}', true)).toEqual({ a: [1, 2.5, 's'] });
    // Exact mode off: precision is lost as with JSON.parse.
    expect((parseJson('[9007199254740993]', false) as number[])[0]).toBe(9007199254740992);
  });

  it('agrees with JSON.parse on ordinary documents', () => {
    const docs = ['[]', '{}', ' [ 1 , [ 2 , { "x" : [ ] } ] ] ', '"\\ud83d\\ude00"', '-0.5e-3', '[1234567890123456]'];
    for (const d of docs) expect(parseJson(d + ' '.repeat(0), true)).toEqual(JSON.parse(d));
  });

  it('rejects malformed JSON with a position', () => {
    for (const bad of ['{"a":1234567890123456789', '[12345678901234567,]', '{"a" 1}', '[01]', '"\u0001"', '[1] x', 'tru', '{"a":9999999999999999 }}']) {
      expect(() => parseJson(bad, true), bad).toThrow(JsonSyntaxError);
    }
    expect(() => parseJson('[12345678901234567,]', true)).toThrow(/position 19/);
    expect(() => parseJson('{"a":', false)).toThrow(JsonSyntaxError);
  });
});

describe('half precision', () => {
  it('round-trips every finite half bit pattern', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      const ok = Number.isNaN(v) ? Number.isNaN(fromHalfBits(toHalfBits(v))) : toHalfBits(v) === h;
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest even, overflows to Infinity and flushes tiny values to ±0', () => {
    expect(fromHalfBits(toHalfBits(0.1))).toBe(0.0999755859375);
    expect(toHalfBits(65520)).toBe(0x7c00); // halfway between max half and the next step: rounds up to Inf
    expect(toHalfBits(65519)).toBe(0x7bff);
    expect(toHalfBits(1e-9)).toBe(0);
    expect(toHalfBits(-1e-9)).toBe(0x8000);
    expect(toHalfBits(2 ** -25)).toBe(0); // exactly half the smallest subnormal: ties to even (0)
    expect(toHalfBits(3 * 2 ** -25)).toBe(2); // 1.5 × smallest subnormal: ties to even (2)
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
});

describe('the bundled example model', () => {
  it('is exactly what the builder generates (its digest is pinned in the example spec)', () => {
    const committed = readFileSync(new URL('../../../../plugin/examples/fraud-detector/model.onnx', import.meta.url));
    expect(sha256(committed)).toBe('sha256:fcc98cd56907baf22ed2d6238ef832578c8cd8adbdcd2d25a697af0f2092a917');
    expect(Buffer.from(mlpModel()).equals(committed)).toBe(true);
  });
});

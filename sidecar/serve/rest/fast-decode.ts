// A one-pass decoder for the request almost every client sends:
//   {"id": "...", "inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": [0.25, ...]}]}
// straight from the body's bytes into the Float32Array the session will use.
//
// Why: decoding was the largest cost of a small request, about a quarter of the server's CPU at
// high concurrency. JSON.parse builds an object graph and an array of doubles only for us to copy
// it into a typed array, and a float32 sent by a Python client arrives as a 17-digit decimal (the
// double of that float32), which V8 converts on a slow path that is exact to the last bit of a
// double, a precision float32 then throws away.
//
// The contract: fastDecode returns exactly what decodeRequest's general path would, or undefined,
// and then the general path runs (anything unusual: escapes, parameters, output selection, other
// datatypes, nested data, any mistake). It never reports an error itself, so every error message
// still comes from one place.
import type { Feed } from '../executor.js';
import type { Signature } from '../signature.js';
import { assemble, type DecodedRequest, type RequestRules } from '../validate.js';
import { float32Array } from './slab.js';

const POW10 = new Float64Array(23).map((_, i) => 10 ** i);
const F32_MIN_NORMAL = 2 ** -126;
const F32_MAX = 3.4028234663852886e38;
const LO = 1 - 2 ** -48;
const HI = 1 + 2 ** -48;

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const K_INPUTS = bytes('inputs"');
const K_ID = bytes('id"');
const K_NAME = bytes('name"');
const K_SHAPE = bytes('shape"');
const K_DATATYPE = bytes('datatype"');
const K_DATA = bytes('data"');
const V_FP32 = bytes('FP32"');

/** Thrown (and caught below) to leave the fast path; never escapes this module. */
const BAIL = Symbol('bail');

class Reader {
  i = 0;
  constructor(readonly b: Buffer) {}

  ws(): number {
    const b = this.b;
    let i = this.i;
    let c = b[i]!;
    while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i]!;
    this.i = i;
    return c;
  }

  /** Skip whitespace and consume `c`, or bail. */
  eat(c: number): void {
    if (this.ws() !== c) throw BAIL;
    this.i++;
  }

  /** After an element: true for ',', false for the closing `close`; bail on anything else. */
  more(close: number): boolean {
    const c = this.ws();
    this.i++;
    if (c === 44) return true;
    if (c === close) return false;
    throw BAIL;
  }

  /** At a '"': when the literal is `key"` (bytes incl. the closing quote), consume it. */
  is(key: Uint8Array): boolean {
    const b = this.b;
    const at = this.i + 1;
    for (let k = 0; k < key.length; k++) if (b[at + k] !== key[k]) return false;
    this.i = at + key.length;
    return true;
  }

  /** A string of printable ASCII without escapes (anything else: bail). */
  plainString(): string {
    if (this.ws() !== 34) throw BAIL;
    const b = this.b;
    const start = this.i + 1;
    let i = start;
    for (;;) {
      const c = b[i]!;
      if (c === 34) break;
      if (!(c >= 32 && c < 127) || c === 92) throw BAIL;
      i++;
    }
    this.i = i + 1;
    return b.toString('latin1', start, i);
  }

  /** [d, ...] of small non-negative integers. */
  dims(): number[] {
    this.eat(91);
    const out: number[] = [];
    if (this.ws() === 93) return this.i++, out;
    const b = this.b;
    do {
      this.ws();
      let i = this.i;
      let c = b[i]!;
      let v = 0;
      if (c === 48) c = b[++i]!;
      else if (c >= 49 && c <= 57) {
        do {
          v = v * 10 + (c - 48);
          c = b[++i]!;
        } while (c >= 48 && c <= 57 && v < 1e9);
      } else throw BAIL;
      if (c >= 48 && c <= 57) throw BAIL;
      if (c === 46 || c === 101 || c === 69) throw BAIL;
      this.i = i;
      out.push(v);
    } while (this.more(93));
    return out;
  }

  /** A flat array of exactly out.length JSON numbers, each stored as Math.fround(its exact double). */
  float32s(out: Float32Array): void {
    this.eat(91);
    const b = this.b;
    const n = out.length;
    if (n === 0) {
      if (this.ws() !== 93) throw BAIL;
      this.i++;
      return;
    }
    let i = this.i;
    for (let k = 0; ; ) {
      let c = b[i]!;
      while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i]!;
      const start = i;
      let neg = false;
      if (c === 45) {
        neg = true;
        c = b[++i]!;
      }
      // m: the significant digits as an integer (exact while ≤ 2^53); nd: how many (a fraction's
      // leading zeros are not significant when the integer part is 0). Counted from positions,
      // not per digit: this loop is most of the decoder's time.
      let m = 0;
      const intStart = i;
      if (c === 48) c = b[++i]!;
      else if (c >= 49 && c <= 57) {
        do {
          m = m * 10 + (c - 48);
          c = b[++i]!;
        } while (c >= 48 && c <= 57);
      } else throw BAIL;
      let nd = m === 0 ? 0 : i - intStart;
      // Fraction digits: a non-negative count, so that POW10[fd] always indexes with a small
      // integer. (A negated exponent is -0 for integers, and on Node 24 a -0 key sent V8's optimized
      // decoder to a slow generic path for the life of the process: 3× lower throughput.)
      let fd = 0;
      if (c === 46) {
        c = b[++i]!;
        if (!(c >= 48 && c <= 57)) throw BAIL;
        const fracStart = i;
        if (m === 0) while (c === 48) c = b[++i]!;
        const sigStart = i;
        while (c >= 48 && c <= 57) {
          m = m * 10 + (c - 48);
          c = b[++i]!;
        }
        fd = i - fracStart;
        nd += i - sigStart;
      }
      let exact = true;
      if (c === 101 || c === 69) {
        // Exponents are rare in tensor data: let Number() read the literal.
        c = b[++i]!;
        if (c === 43 || c === 45) c = b[++i]!;
        if (!(c >= 48 && c <= 57)) throw BAIL;
        do c = b[++i]!;
        while (c >= 48 && c <= 57);
        exact = false;
      }
      let f: number;
      if (exact && nd <= 19 && fd <= 22) {
        // Clinger: an exact integer divided by an exact power of ten rounds once, correctly; so
        // m / 10^fd is JSON.parse's double when m ≤ 2^53. Beyond that m was rounded on the way
        // (relative error < 2^-49.8) and the float32 is only taken when both ends of that error
        // interval round to it: then so does the exact double (rounding is monotonic).
        let v = m / POW10[fd]!;
        if (neg) v = -v;
        f = Math.fround(v);
        if (m > 9007199254740991) {
          const a = Math.abs(f);
          if (a < F32_MIN_NORMAL || a > F32_MAX || Math.fround(v * LO) !== f || Math.fround(v * HI) !== f) exact = false;
        }
      } else exact = false;
      if (!exact) f = Math.fround(Number(b.toString('latin1', start, i)));
      out[k++] = f!;
      while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i]!;
      if (c === 93) {
        if (k !== n) throw BAIL;
        this.i = i + 1;
        return;
      }
      if (c !== 44 || k === n) throw BAIL;
      i++;
    }
  }
}

function input(r: Reader, model: Signature, inputs: (Feed | undefined)[]): void {
  r.eat(123);
  let idx = -1;
  let fp32 = false;
  let dims: number[] | undefined;
  let data: Float32Array | undefined;
  do {
    if (r.ws() !== 34) throw BAIL;
    if (r.is(K_NAME)) {
      r.eat(58);
      const i = model.inputIndex.get(r.plainString());
      if (i === undefined || idx !== -1 || inputs[i] !== undefined) throw BAIL;
      idx = i;
    } else if (r.is(K_SHAPE)) {
      r.eat(58);
      if (dims) throw BAIL;
      dims = r.dims();
    } else if (r.is(K_DATATYPE)) {
      r.eat(58);
      if (fp32 || r.ws() !== 34 || !r.is(V_FP32)) throw BAIL;
      fp32 = true;
    } else if (r.is(K_DATA)) {
      r.eat(58);
      // The data comes last in practice; it can only be read once the tensor is known.
      if (idx < 0 || !fp32 || !dims || data) throw BAIL;
      const spec = model.inputs[idx]!;
      if (spec.type.v2 !== 'FP32' || dims.length !== spec.shape.length) throw BAIL;
      let count = 1;
      for (let d = 0; d < dims.length; d++) {
        const want = spec.shape[d]!;
        if (want >= 0 && dims[d] !== want) throw BAIL;
        count *= dims[d]!;
      }
      // Each number takes at least a byte: a larger shape is a mistake for the general path to report.
      if (count > r.b.length) throw BAIL;
      data = float32Array(count);
      r.float32s(data);
    } else throw BAIL;
  } while (r.more(125));
  if (!data) throw BAIL;
  inputs[idx] = { data, dims: dims! };
}

/** Decode the common request shape in one pass, or undefined to take the general path. */
export function fastDecode(body: Buffer, model: Signature, rules: RequestRules): DecodedRequest | undefined {
  const r = new Reader(body);
  const inputs = new Array<Feed | undefined>(model.inputs.length);
  let idJson: string | undefined;
  let sawInputs = false;
  try {
    r.eat(123);
    do {
      if (r.ws() !== 34) throw BAIL;
      if (r.is(K_INPUTS)) {
        r.eat(58);
        if (sawInputs) throw BAIL;
        sawInputs = true;
        r.eat(91);
        do input(r, model, inputs);
        while (r.more(93));
      } else if (r.is(K_ID)) {
        r.eat(58);
        if (idJson !== undefined) throw BAIL;
        idJson = JSON.stringify(r.plainString());
      } else throw BAIL;
    } while (r.more(125));
    r.ws();
    if (r.i !== body.length) throw BAIL;
  } catch (err) {
    if (err === BAIL) return undefined;
    throw err;
  }
  for (let i = 0; i < inputs.length; i++) if (inputs[i] === undefined) return undefined;
  const all = model.outputs.map((_, i) => i);
  return assemble(model, inputs as Feed[], all, all.map(() => false), rules, idJson);
}

// Inputs for the start-up runs: the user's explicit warm-up samples (V2 request bodies, like
// Triton's model_warmup), and generated ones when there are none. Generated rows differ in scale
// and sign from each other, so a model whose rows interact (a max or mean over the batch, a
// reshape that folds it) cannot give the same answer for a row alone and the row in a stack.
import { ModelpinError } from '../../src/errors.js';
import { toHalfBits, type TensorData } from './datatypes.js';
import type { Feed } from './executor.js';
import { decodeGeneral } from './rest/codec.js';
import type { Signature, TensorSpec } from './signature.js';

/** One start-up sample: its inputs in model order. */
export interface Sample {
  feeds: Feed[];
  /** For messages: "warm-up sample 2" / "generated sample". */
  label: string;
}

/**
 * Parse explicit warm-up samples: a JSON document that is one V2 inference request body or an
 * array of them. Each is validated exactly like a request (names, datatypes, shapes), so a
 * sample the model could never take is refused with the same message a client would get.
 */
export function parseWarmupSamples(text: string, sig: Signature, source: string): Sample[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ModelpinError('MODELPIN_E_WARMUP', `${source}: not valid JSON (${(err as Error).message})`, {
      hint: 'write one V2 inference request body ({"inputs": [...]}) or a JSON array of them',
    });
  }
  const bodies = Array.isArray(doc) ? doc : [doc];
  if (bodies.length === 0) throw new ModelpinError('MODELPIN_E_WARMUP', `${source}: the list of warm-up samples is empty`, { hint: 'give at least one V2 request body' });
  const rules = { batching: false, maxRows: Number.MAX_SAFE_INTEGER, maxRowsSetting: '' };
  return bodies.map((b, i) => {
    try {
      const req = decodeGeneral(Buffer.from(JSON.stringify(b)), sig, { rules });
      return { feeds: req.inputs, label: `warm-up sample ${i + 1} of ${source}` };
    } catch (err) {
      throw new ModelpinError('MODELPIN_E_WARMUP', `${source}: warm-up sample ${i + 1} does not fit the model: ${(err as Error).message}`, {
        hint: "make each sample a request the model accepts (see GET /v2/models/<name> for its inputs)",
      });
    }
  });
}

/** Row scales and signs for generated rows: orders of magnitude apart, alternating sign. */
const SCALES = [1, -100, 0.01, -3.5, 42];

/** Dimensions for a generated sample: fixed dims as declared, dynamic ones 1 (dim 0 = rows). */
export function generatedDims(spec: TensorSpec, rows: number): number[] {
  return spec.shape.map((d, i) => (i === 0 && spec.shape.length > 0 && d < 0 ? rows : d < 0 ? 1 : d));
}

/** Deterministic values in (-1, 1) that differ per element and per row. */
function pattern(i: number, row: number): number {
  return (((i * 7919 + row * 104729 + 13) % 1999) / 999.5 - 1) * 0.999 + 0.0005;
}

/** One generated row (dim 0 = 1, or the declared fixed dims) for input `spec`, variant `row`. */
export function generatedRow(spec: TensorSpec, row: number): Feed {
  const dims = generatedDims(spec, 1);
  const n = dims.reduce((a, b) => a * b, 1);
  const t = spec.type;
  let data: TensorData;
  if (!t.array) {
    data = Array.from({ length: n }, (_, i) => `s${row}-${i}`);
  } else if (t.v2 === 'BOOL') {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = (i + row) % 2;
    data = a;
  } else if (t.int) {
    // Small non-negative integers: valid token ids, class indices and counts for most models.
    const a = new t.array(n);
    for (let i = 0; i < n; i++) {
      const v = (i * 7 + row * 3 + 1) % 10;
      (a as Int32Array)[i] = (t.int.big ? BigInt(v) : v) as number;
    }
    data = a;
  } else {
    const scale = SCALES[row % SCALES.length]!;
    const a = t.v2 === 'FP16' ? new Float64Array(n) : new t.array(n);
    for (let i = 0; i < n; i++) (a as Float64Array)[i] = scale * pattern(i, row);
    data = t.v2 === 'FP16' ? halfBits(a as Float64Array) : a;
  }
  return { data, dims };
}

function halfBits(a: Float64Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = toHalfBits(a[i]!);
  return out;
}

/** A generated sample: one row of every input. */
export function generatedSample(sig: Signature, row: number): Sample {
  return { feeds: sig.inputs.map((s) => generatedRow(s, row)), label: `generated sample ${row + 1}` };
}

/** Split a sample into its rows along dim 0 (every input must have rank ≥ 1 and the same dim 0). */
export function rowsOf(sample: Sample): Feed[][] {
  const n = sample.feeds[0]?.dims[0] ?? 0;
  if (sample.feeds.some((f) => f.dims.length === 0 || f.dims[0] !== n)) return [];
  const rows: Feed[][] = [];
  for (let r = 0; r < n; r++) rows.push(sample.feeds.map((f) => sliceRows(f, r, 1)));
  return rows;
}

/** Rows [row, row + count) of a feed, as a copy that owns its buffer. */
export function sliceRows(f: Feed, row: number, count: number): Feed {
  const per = f.dims[0] === 0 ? 0 : f.data.length / f.dims[0]!;
  const dims = [count, ...f.dims.slice(1)];
  const data = f.data.slice(row * per, (row + count) * per) as TensorData;
  return { data, dims };
}

/** Stack rows (each a feed list with dim 0 = 1, equal trailing dims) into one feed list. */
export function stackRows(sig: Signature, rows: Feed[][]): Feed[] {
  return sig.inputs.map((spec, i) => {
    const parts = rows.map((r) => r[i]!);
    const dims = [parts.reduce((a, p) => a + p.dims[0]!, 0), ...parts[0]!.dims.slice(1)];
    if (!spec.type.array) return { data: parts.flatMap((p) => p.data as string[]), dims };
    const out = new spec.type.array(parts.reduce((a, p) => a + p.data.length, 0));
    let off = 0;
    for (const p of parts) {
      (out as Float32Array).set(p.data as Float32Array, off);
      off += p.data.length;
    }
    return { data: out, dims };
  });
}

/** A deep copy of feeds (an executor takes its feeds' buffers over). */
export function copyFeeds(feeds: readonly Feed[]): Feed[] {
  return feeds.map((f) => ({ data: f.data.slice() as TensorData, dims: [...f.dims] }));
}

// The start-up check that decides whether dynamic batching is sound for this model. A shared
// leading dimension name proves nothing about row independence: a max or mean over the whole
// tensor, batch-norm exported in training mode, attention across the batch, or a Reshape that
// folds the batch all mix rows, and batching them would silently change answers. So the check
// runs k ≥ 3 distinct rows one by one and stacked (and a reordered pair), and batching is on only
// if every stacked row equals its single result: bit for bit for integers, BOOL and BYTES, within
// a tight tolerance for floats (TOLERANCE below, documented in the README).
import { fromHalfBits } from './datatypes.js';
import type { Executor, Feed, OutputTensor } from './executor.js';
import { copyFeeds, generatedSample, rowsOf, stackRows, type Sample } from './samples.js';
import { batchingShapeVerdict, type Signature, type TensorSpec } from './signature.js';

/** Rows the check stacks. */
export const CHECK_ROWS = 3;

/**
 * Float comparison: |batched − single| ≤ rel·|single| + abs·M, where M is the largest magnitude
 * in that output of the single run (so values near zero are judged at the output's scale: a GEMM
 * may sum in another order than a GEMV). FP16 allows about two units in the last place.
 */
export const TOLERANCE: Record<'FP16' | 'FP32' | 'FP64', { rel: number; abs: number }> = {
  FP16: { rel: 2e-3, abs: 1e-3 },
  FP32: { rel: 1e-5, abs: 1e-6 },
  FP64: { rel: 1e-10, abs: 1e-12 },
};

export type CheckResult =
  | { sound: true; rows: number; detail: string }
  /** `structural`: the shapes alone rule batching out (no dynamic batch dimension), so it cannot even be forced. */
  | { sound: false; reason: string; structural?: boolean }
  /** The check could not run (no usable rows); batching stays off unless forced. */
  | { sound: undefined; reason: string };

/**
 * Run the check on `executor`. `explicit` are the user's warm-up samples (their rows are used
 * first); generated rows fill up to CHECK_ROWS when those are too few.
 */
export async function checkBatching(sig: Signature, executor: Executor, explicit: readonly Sample[]): Promise<CheckResult> {
  const verdict = batchingShapeVerdict(sig);
  if (!verdict.possible) return { sound: false, reason: verdict.reason, structural: true };
  let rows = largestShapeGroup(distinctRows(explicit.flatMap((s) => rowsOf(s))));
  const source = rows.length > 0 ? 'warm-up sample rows' : 'generated rows';
  const risky = verdict.dataDependent[0];
  if (risky && rows.length < CHECK_ROWS) {
    // Generated rows cannot show whether such a size depends on the data (all-noise inputs tend
    // to give the same count): without real rows, do not bet answers on it.
    return {
      sound: false,
      reason: `output '${risky.output}' has a dynamic dimension ${risky.dim} ('${risky.name}') that no input has, so its size may depend on the data; the check needs ${CHECK_ROWS} real rows of one shape to tell: give warm-up samples`,
    };
  }
  if (rows.length < CHECK_ROWS) {
    // Generated rows shaped like the first explicit row (trailing dims must match to stack).
    const like = rows[0];
    for (let r = 0; rows.length < CHECK_ROWS && r < 2 * CHECK_ROWS; r++) {
      const g = generatedSample(sig, r).feeds;
      if (like && g.some((f, i) => f.dims.slice(1).join() !== like[i]!.dims.slice(1).join())) break;
      rows = distinctRows([...rows, g]);
    }
  }
  if (rows.length < CHECK_ROWS) {
    return { sound: undefined, reason: `the row-independence check needs ${CHECK_ROWS} distinct rows with the same trailing shape; give warm-up samples with more rows` };
  }
  rows = rows.slice(0, CHECK_ROWS);
  let singles: OutputTensor[][];
  try {
    singles = [];
    for (const row of rows) singles.push(await executor.run(copyFeeds(row)));
  } catch (err) {
    return { sound: undefined, reason: `the row-independence check could not run the model on ${source} one at a time: ${(err as Error).message}` };
  }
  // Rows of one input shape whose outputs differ in shape: a size that depends on the data (a
  // detector's box count). A stack would pad or mix them, and could not be split back.
  for (let o = 0; o < sig.outputs.length; o++) {
    const shapes = singles.map((out) => out[o]!.dims.slice(1).join(','));
    if (new Set(shapes).size > 1) {
      return { sound: false, reason: `output '${sig.outputs[o]!.name}' has a size that depends on the data: rows of one input shape gave shapes ${singles.map((out) => `[${out[o]!.dims.join(',')}]`).join(', ')}` };
    }
  }
  // All rows stacked, then a reordered pair: a model that looks at a row's position is caught too.
  for (const order of [rows.map((_, i) => i), [rows.length - 1, 0]]) {
    let stacked: OutputTensor[];
    try {
      stacked = await executor.run(stackRows(sig, order.map((i) => rows[i]!)));
    } catch (err) {
      return { sound: false, reason: `the model fails when ${order.length} rows are stacked (${(err as Error).message})` };
    }
    for (let o = 0; o < sig.outputs.length; o++) {
      const spec = sig.outputs[o]!;
      const got = stacked[o]!;
      if (got.dims[0] !== order.length) {
        return { sound: false, reason: `output '${spec.name}' has ${got.dims[0]} rows for ${order.length} stacked input rows: its dimension 0 is not the batch` };
      }
      for (let k = 0; k < order.length; k++) {
        const single = singles[order[k]!]![o]!;
        const diff = compareRow(spec, got, k, single);
        if (diff) return { sound: false, reason: `output '${spec.name}' of row ${order[k]! + 1} differs when rows are stacked: ${diff}, so its rows are not independent` };
      }
    }
  }
  return { sound: true, rows: CHECK_ROWS, detail: `${CHECK_ROWS} distinct ${source} gave the same outputs alone and stacked` };
}

/** The rows of the most common trailing shape (only rows of one shape can be stacked). */
function largestShapeGroup(rows: Feed[][]): Feed[][] {
  const groups = new Map<string, Feed[][]>();
  for (const r of rows) {
    const key = r.map((f) => f.dims.slice(1).join(',')).join(';');
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  let best: Feed[][] = [];
  for (const g of groups.values()) if (g.length > best.length) best = g;
  return best;
}

/** Distinct rows (by content) only: equal rows could hide interaction. */
function distinctRows(rows: Feed[][]): Feed[][] {
  const seen = new Set<string>();
  const out: Feed[][] = [];
  for (const r of rows) {
    const key = r.map((f) => `${f.dims.join(',')}:${Array.isArray(f.data) ? JSON.stringify(f.data) : Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).toString('base64')}`).join('|');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

/** Undefined when row `k` of `batched` equals `single` (a one-row result); else how it differs. */
export function compareRow(spec: TensorSpec, batched: OutputTensor, k: number, single: OutputTensor): string | undefined {
  const trail = batched.dims.slice(1).join(',');
  if (single.dims[0] !== 1 || single.dims.slice(1).join(',') !== trail) {
    return `shape [${single.dims.join(',')}] alone but [1,${trail}] in the stack`;
  }
  const per = single.data.length;
  const v2 = spec.type.v2;
  if (v2 === 'FP32' || v2 === 'FP64' || v2 === 'FP16') {
    const tol = TOLERANCE[v2];
    const num = (d: OutputTensor['data'], i: number) => (v2 === 'FP16' ? fromHalfBits((d as Uint16Array)[i]!) : (d as Float64Array)[i]!);
    let m = 0;
    for (let i = 0; i < per; i++) {
      const v = Math.abs(num(single.data, i));
      if (Number.isFinite(v) && v > m) m = v;
    }
    let worst = 0;
    let at = -1;
    for (let i = 0; i < per; i++) {
      const a = num(batched.data, k * per + i);
      const b = num(single.data, i);
      if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
      const d = Math.abs(a - b);
      if (!(d <= tol.rel * Math.abs(b) + tol.abs * m) && !(d <= worst)) {
        worst = Number.isNaN(d) ? Infinity : d;
        at = i;
      }
    }
    return at < 0 ? undefined : `element ${at} is ${num(batched.data, k * per + at)} instead of ${num(single.data, at)} (difference ${worst.toPrecision(3)})`;
  }
  for (let i = 0; i < per; i++) {
    const a = (batched.data as ArrayLike<unknown>)[k * per + i];
    const b = (single.data as ArrayLike<unknown>)[i];
    if (a !== b) return `element ${i} is ${String(a)} instead of ${String(b)}`;
  }
  return undefined;
}

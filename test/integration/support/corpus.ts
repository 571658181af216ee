// The real-world model corpus (test/corpus/build.py) seen from the tests: where it is, what its
// manifest says, V2 samples as tensors, in-process ONNX Runtime references, the binary tensor
// extension, and the one comparison rule every answer is held to.
//
// Location: MODELPIN_CORPUS_DIR (set by .ci/run), else ~/.cache/modelpin/corpus/<key>, where <key>
// is the same hash of build.py + requirements.txt that .ci/run uses, so a corpus built by an older
// build script is never picked up by mistake. Missing corpus = an error that says how to build it.
import { fromHalfBits, toHalfBits } from '../../../sidecar/serve/datatypes.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

type Ort = typeof import('onnxruntime-node');

const CORPUS_SRC = join(import.meta.dirname, '../../corpus');

/** The cache key .ci/run computes: `cat build.py requirements.txt | sha256sum | cut -c1-16`. */
export function corpusKey(): string {
  const h = createHash('sha256');
  for (const f of ['build.py', 'requirements.txt']) h.update(readFileSync(join(CORPUS_SRC, f)));
  return h.digest('hex').slice(0, 16);
}

export function findCorpus(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.MODELPIN_CORPUS_DIR ?? join(homedir(), '.cache/modelpin/corpus', corpusKey());
  if (!existsSync(join(dir, 'corpus.json'))) {
    throw new Error(
      `the model corpus is missing: no ${join(dir, 'corpus.json')}` +
        (env.MODELPIN_CORPUS_DIR ? ' (from MODELPIN_CORPUS_DIR)' : '') +
        '. Build it with `bash .ci/run` (step install_corpus), or by hand: python3 -m venv ~/.cache/modelpin/venv-corpus && ' +
        '~/.cache/modelpin/venv-corpus/bin/pip install -r test/corpus/requirements.txt && ' +
        `~/.cache/modelpin/venv-corpus/bin/python test/corpus/build.py --out ${dir}`,
    );
  }
  return dir;
}

export interface CorpusModel {
  id: string;
  file: string;
  format: 'onnx' | 'tar';
  entry?: string;
  digest: string;
  bytes: number;
  domain: string;
  source: Record<string, string>;
  licence: string;
  exercises: string[];
  inputs: Record<string, { type: string; shape: (number | string | null)[] }>;
  outputs: Record<string, { type: string; shape: (number | string | null)[] }>;
  servableOutputs: string[];
  nonServableOutputs: { name: string; type: string }[];
  samples: string[];
  batching: { expected: boolean; reason: string; maxAbsDiff?: number };
  zerosWarmup: { ok: boolean; error?: string };
  notes?: string;
}

export interface Manifest {
  version: number;
  tolerance: { rel: number; abs: number; rule: string };
  builtWith: Record<string, string>;
  models: CorpusModel[];
}

export function readManifest(dir: string): Manifest {
  const m = JSON.parse(readFileSync(join(dir, 'corpus.json'), 'utf8')) as Manifest;
  if (m.version !== 1) throw new Error(`corpus.json version ${m.version}; this harness reads version 1 (rebuild the corpus)`);
  return m;
}

// --- tensors ----------------------------------------------------------------------------------

export interface V2Input {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | boolean | string)[];
}

export interface Sample {
  file: string;
  body: string;
  inputs: V2Input[];
}

export function readSample(dir: string, file: string): Sample {
  const body = readFileSync(join(dir, file), 'utf8');
  const inputs = (JSON.parse(body) as { inputs: V2Input[] }).inputs;
  for (const t of inputs) {
    if ((t.datatype === 'INT64' || t.datatype === 'UINT64') && !t.data.every((v) => Number.isSafeInteger(v))) {
      throw new Error(`${file}: input '${t.name}' has integers beyond 2^53; this harness reads samples with JSON.parse`);
    }
  }
  return { file, body, inputs };
}

/** Typed data as both ONNX Runtime and the binary extension lay it out (FP16 as half bits). */
export type Typed = Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

const ORT_TYPE: Record<string, Tensor.Type> = {
  FP32: 'float32', FP64: 'float64', FP16: 'float16', INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool', BYTES: 'string',
};

/** V2 datatype of an ONNX Runtime tensor type. */
export const V2_OF: Record<string, string> = Object.fromEntries(Object.entries(ORT_TYPE).map(([k, v]) => [v, k]));

export function typed(datatype: string, data: readonly (number | boolean | string | bigint)[]): Typed {
  switch (datatype) {
    case 'FP32': return Float32Array.from(data as number[]);
    case 'FP64': return Float64Array.from(data as number[]);
    case 'FP16': return Uint16Array.from(data as number[], halfBits);
    case 'INT8': return Int8Array.from(data as number[]);
    case 'INT16': return Int16Array.from(data as number[]);
    case 'INT32': return Int32Array.from(data as number[]);
    case 'UINT8': return Uint8Array.from(data as number[]);
    case 'UINT16': return Uint16Array.from(data as number[]);
    case 'UINT32': return Uint32Array.from(data as number[]);
    case 'INT64': return BigInt64Array.from(data, (v) => BigInt(v as number));
    case 'UINT64': return BigUint64Array.from(data, (v) => BigInt(v as number));
    case 'BOOL': return Uint8Array.from(data, (v) => (v ? 1 : 0));
    case 'BYTES': return (data as string[]).map(String);
    default: throw new Error(`unknown V2 datatype ${datatype}`);
  }
}

export function ortTensor(ort: Ort, t: { datatype: string; shape: readonly number[]; data: Typed }): Tensor {
  const type = ORT_TYPE[t.datatype];
  if (!type) throw new Error(`no ONNX Runtime type for ${t.datatype}`);
  return new ort.Tensor(type, t.data as never, t.shape as number[]);
}

// FP16 as the sidecar converts it: datatypes.ts, whose rounding has exhaustive tests of its own
// (json-and-types.test.ts), so an oracle copy here would only repeat it.
export const halfBits = toHalfBits;
export const halfValue = fromHalfBits;

// --- the binary tensor extension ----------------------------------------------------------------

export function rawBytes(datatype: string, data: Typed): Buffer {
  if (datatype === 'BYTES') {
    return Buffer.concat(
      (data as string[]).flatMap((s) => {
        const e = Buffer.from(s, 'utf8');
        const len = Buffer.alloc(4);
        len.writeUInt32LE(e.length);
        return [len, e];
      }),
    );
  }
  const a = data as Exclude<Typed, string[]>;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export function fromRaw(datatype: string, buf: Buffer): Typed {
  const copy = (n: number) => {
    const b = new ArrayBuffer(buf.length);
    new Uint8Array(b).set(buf);
    if (buf.length % n !== 0) throw new Error(`${datatype}: ${buf.length} bytes is not a multiple of ${n}`);
    return b;
  };
  switch (datatype) {
    case 'FP32': return new Float32Array(copy(4));
    case 'FP64': return new Float64Array(copy(8));
    case 'FP16': return new Uint16Array(copy(2));
    case 'INT8': return new Int8Array(copy(1));
    case 'INT16': return new Int16Array(copy(2));
    case 'INT32': return new Int32Array(copy(4));
    case 'INT64': return new BigInt64Array(copy(8));
    case 'UINT8': case 'BOOL': return new Uint8Array(copy(1));
    case 'UINT16': return new Uint16Array(copy(2));
    case 'UINT32': return new Uint32Array(copy(4));
    case 'UINT64': return new BigUint64Array(copy(8));
    case 'BYTES': {
      const out: string[] = [];
      for (let o = 0; o < buf.length; ) {
        const n = buf.readUInt32LE(o);
        out.push(buf.toString('utf8', o + 4, o + 4 + n));
        o += 4 + n;
      }
      return out;
    }
    default: throw new Error(`unknown V2 datatype ${datatype}`);
  }
}

/** A binary-extension request for a sample: every input raw, every output asked for raw. */
export function binaryRequest(sample: Sample): { body: Buffer; headerLength: number } {
  const parts: Buffer[] = [];
  const inputs = sample.inputs.map((t) => {
    const b = rawBytes(t.datatype, typed(t.datatype, t.data));
    parts.push(b);
    return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: b.length } };
  });
  const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
  return { body: Buffer.concat([header, ...parts]), headerLength: header.length };
}

export interface Answer {
  name: string;
  datatype: string;
  shape: number[];
  data: Typed | (number | boolean | string)[];
}

export function parseBinaryResponse(all: Buffer, headerLength: number): Answer[] {
  const head = JSON.parse(all.subarray(0, headerLength).toString('utf8')) as {
    outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size?: number } }[];
  };
  let off = headerLength;
  const out = head.outputs.map((o) => {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) return { name: o.name, datatype: o.datatype, shape: o.shape, data: (o.data ?? []) as (number | string | boolean)[] };
    const a = { name: o.name, datatype: o.datatype, shape: o.shape, data: fromRaw(o.datatype, all.subarray(off, off + size)) };
    off += size;
    return a;
  });
  if (off !== all.length) throw new Error(`binary response: ${all.length - off} bytes after the last output`);
  return out;
}

// --- comparison ---------------------------------------------------------------------------------

export interface Tolerance {
  rel: number;
  abs: number;
}

/** JSON numbers for non-finite floats arrive as strings ("NaN", "Infinity"). */
function num(v: unknown): number {
  return typeof v === 'string' ? Number(v) : (v as number);
}

/**
 * Why `got` differs from the in-process reference `want` (undefined when equal). Floats (FP16
 * compared as values): |got - want| <= rel * |want| + abs, NaN equals NaN, infinities exactly;
 * integers, BOOL and BYTES exactly; shapes exactly.
 */
export function mismatch(got: Answer, want: Tensor, tol: Tolerance): string | undefined {
  const wantType = V2_OF[want.type];
  if (got.datatype !== wantType) return `datatype ${got.datatype}, in-process ${wantType}`;
  if (JSON.stringify(got.shape) !== JSON.stringify(want.dims)) return `shape [${got.shape}], in-process [${want.dims}]`;
  const w = want.data as unknown as ArrayLike<number | bigint | string | boolean>;
  const g = got.data as ArrayLike<unknown>;
  if (g.length !== w.length) return `${g.length} elements, in-process ${w.length}`;
  const isFloat = got.datatype === 'FP32' || got.datatype === 'FP64' || got.datatype === 'FP16';
  let worst = 0;
  let worstAt = -1;
  let bad = 0;
  // Node 20 hands FP16 back as half bits in a Uint16Array (Node 24 may use a Float16Array).
  const wantBits = want.type === 'float16' && want.data instanceof Uint16Array;
  for (let i = 0; i < w.length; i++) {
    if (isFloat) {
      const wi = wantBits ? halfValue(w[i] as number) : Number(w[i]);
      // Binary FP16 answers are bits; JSON answers are numbers.
      const gi = got.datatype === 'FP16' && got.data instanceof Uint16Array ? halfValue(g[i] as number) : num(g[i]);
      if (gi === wi || (Number.isNaN(gi) && Number.isNaN(wi))) continue;
      const d = Math.abs(gi - wi);
      if (!(d <= tol.rel * Math.abs(wi) + tol.abs)) {
        bad++;
        if (!(d <= worst)) [worst, worstAt] = [d, i];
      }
    } else if (got.datatype === 'BOOL') {
      if (Boolean(g[i]) !== Boolean(w[i])) [bad, worstAt] = [bad + 1, worstAt < 0 ? i : worstAt];
    } else if (got.datatype === 'BYTES') {
      if (String(g[i]) !== String(w[i])) [bad, worstAt] = [bad + 1, worstAt < 0 ? i : worstAt];
    } else if (BigInt(g[i] as number | bigint) !== BigInt(w[i] as number | bigint)) {
      [bad, worstAt] = [bad + 1, worstAt < 0 ? i : worstAt];
    }
  }
  if (bad === 0) return undefined;
  const at = `element ${worstAt}: got ${String(g[worstAt])}, in-process ${String(w[worstAt])}`;
  return isFloat ? `${bad}/${w.length} elements outside tolerance; worst |diff| ${worst.toPrecision(3)} at ${at}` : `${bad}/${w.length} elements differ; first at ${at}`;
}

// --- in-process ONNX Runtime --------------------------------------------------------------------

/** Same session options as the sidecar uses (CPU, all graph optimisations, one intra-op thread). */
export function referenceOptions(): InferenceSession.SessionOptions {
  return { executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: 1 };
}

export function feeds(ort: Ort, inputs: readonly { name: string; datatype: string; shape: readonly number[]; data: Typed }[]): Record<string, Tensor> {
  return Object.fromEntries(inputs.map((t) => [t.name, ortTensor(ort, t)]));
}

export function sampleTensors(s: Sample): { name: string; datatype: string; shape: number[]; data: Typed }[] {
  return s.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: typed(t.datatype, t.data) }));
}

function concatTyped(parts: Typed[]): Typed {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as string[][]).flat();
  const C = first.constructor as new (n: number) => Exclude<Typed, string[]>;
  const out = new C(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts as Exclude<Typed, string[]>[]) {
    (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p as ArrayLike<unknown>, o);
    o += p.length;
  }
  return out;
}

function answerOf(name: string, t: Tensor): Answer {
  return { name, datatype: V2_OF[t.type]!, shape: [...t.dims], data: t.data as Typed };
}

/**
 * The batching truth, checked in onnxruntime-node the way build.py checks it in Python: the
 * largest group (>= 3) of same-shaped samples, run one by one and stacked along dim 0; sound only
 * if every servable output row equals its single result.
 */
export async function rowIndependence(ort: Ort, session: InferenceSession, samples: Sample[], outputs: string[], tol: Tolerance): Promise<{ expected: boolean; reason: string }> {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const key = JSON.stringify(s.inputs.map((t) => [t.name, t.shape]));
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const group = [...groups.values()].sort((a, b) => b.length - a.length)[0]!;
  if (group.length < 3) return { expected: false, reason: 'fewer than 3 samples of one shape: no evidence' };
  for (const t of group[0]!.inputs) {
    if (t.shape.length === 0) return { expected: false, reason: `input '${t.name}' is a scalar: requests cannot be concatenated` };
    if (t.shape[0] !== 1) return { expected: false, reason: `input '${t.name}' has leading dim ${t.shape[0]} in a one-row request: dim 0 is not the batch` };
  }
  const singles = [];
  for (const s of group) singles.push(await session.run(feeds(ort, sampleTensors(s)), outputs));
  for (const name of outputs) {
    for (const r of singles) {
      const d = r[name]!.dims;
      if (d.length === 0 || d[0] !== 1) return { expected: false, reason: `output '${name}' has shape [${d}] for a one-row request: dim 0 is not the batch` };
    }
  }
  const tensors = group.map(sampleTensors);
  const stacked = tensors[0]!.map((t, i) => ({
    name: t.name,
    datatype: t.datatype,
    shape: [group.length, ...t.shape.slice(1)],
    data: concatTyped(tensors.map((ts) => ts[i]!.data)),
  }));
  let together;
  try {
    together = await session.run(feeds(ort, stacked), outputs);
  } catch (err) {
    return { expected: false, reason: `ONNX Runtime refuses the stacked rows: ${(err as Error).message.split('\n')[0]}` };
  }
  for (const name of outputs) {
    const got = answerOf(name, together[name]!);
    const rows = singles.map((r) => r[name]!);
    const want = new ort.Tensor(rows[0]!.type, concatTyped(rows.map((r) => r.data as Typed)) as never, [group.length, ...rows[0]!.dims.slice(1)]);
    const why = mismatch(got, want, tol);
    if (why !== undefined) return { expected: false, reason: `output '${name}' stacked differs from row by row: ${why}` };
  }
  return { expected: true, reason: `${group.length} distinct rows stacked equal their single results` };
}

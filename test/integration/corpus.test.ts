// The real-world corpus (issue #11): every model that public packages ship or standard converters
// produce (test/corpus/README.md) must come up through the sidecar's real start-up path and answer
// exactly what in-process ONNX Runtime answers for the same inputs, over JSON and over the binary
// tensor extension, with batching off (max batch 1) and requested (max batch 8), one request at a
// time and concurrently; and the batching decision in the model metadata must be the truth the
// corpus recorded (row independence, checked again here in onnxruntime-node).
//
// Comparison rule (also in corpus.json and build.py): floats |got - want| <= 1e-5 * |want| + 1e-6,
// NaN equals NaN, infinities exactly; integers, BOOL and BYTES exactly; shapes exactly. Only tensor
// outputs are compared: sequence/map outputs (ZipMap) are not servable over V2 and must be left
// out of the metadata.
//
// The corpus is built by .ci/run (install_corpus) and found through MODELPIN_CORPUS_DIR; a missing
// corpus fails this file with the command that builds it, it is never skipped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { x as untar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeConfig } from '../../sidecar/config.js';
import { get, startServer, type Fixture, type Running } from '../unit/sidecar/serve/support.js';
import {
  binaryRequest,
  feeds,
  findCorpus,
  mismatch,
  parseBinaryResponse,
  readManifest,
  readSample,
  referenceOptions,
  rowIndependence,
  sampleTensors,
  type Answer,
  type Sample,
} from './support/corpus.js';

const DIR = findCorpus();
const MANIFEST = readManifest(DIR);
const TOL = MANIFEST.tolerance;

/**
 * The manifest's samples as the model's explicit warm-up (issue #11: Triton-style model_warmup),
 * one JSON array of V2 request bodies, as spec.serving.warmup renders it. The batching check of
 * issue #15 then runs on these real rows.
 */
function explicitWarmup(dir: string, samples: Sample[]): Partial<ServeConfig> {
  const file = join(dir, 'warmup.json');
  writeFileSync(file, `[${samples.map((s) => s.body).join(',\n')}]`);
  return { warmup: { file, auto: true } };
}

interface Reference {
  sample: Sample;
  outputs: Record<string, ort.Tensor>;
}

async function postJson(srv: Running, body: string): Promise<Answer[]> {
  const r = await fetch(srv.url('/v2/models/m/infer'), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`JSON infer answered ${r.status}: ${text.slice(0, 500)}`);
  const outs = (JSON.parse(text) as { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] }).outputs;
  return outs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: (o.data as unknown[]).flat(Infinity) as (number | string | boolean)[] }));
}

async function postBinary(srv: Running, sample: Sample): Promise<Answer[]> {
  const { body, headerLength } = binaryRequest(sample);
  const r = await fetch(srv.url('/v2/models/m/infer'), {
    method: 'POST',
    body,
    headers: { 'Inference-Header-Content-Length': String(headerLength), 'content-type': 'application/octet-stream' },
  });
  const all = Buffer.from(await r.arrayBuffer());
  if (r.status !== 200) throw new Error(`binary infer answered ${r.status}: ${all.toString('utf8').slice(0, 500)}`);
  const hlen = r.headers.get('inference-header-content-length');
  if (hlen === null) throw new Error('binary infer: no Inference-Header-Content-Length in the response');
  return parseBinaryResponse(all, Number(hlen));
}

/** Every servable output present, nothing else, each equal to the in-process reference. */
function problems(got: Answer[], ref: Reference, servable: string[]): string[] {
  const out: string[] = [];
  const names = got.map((a) => a.name).sort();
  if (JSON.stringify(names) !== JSON.stringify([...servable].sort())) out.push(`outputs [${names}], expected [${[...servable].sort()}]`);
  for (const a of got) {
    const want = ref.outputs[a.name];
    if (!want) continue;
    const why = mismatch(a, want, TOL);
    if (why) out.push(`${a.name}: ${why}`);
  }
  return out.map((p) => `${ref.sample.file}: ${p}`);
}

describe.each(MANIFEST.models.map((m) => [m.id, m] as const))('corpus model %s', (_id, m) => {
  const artifact = join(DIR, m.file);
  let work: string;
  let session: ort.InferenceSession;
  let samples: Sample[];
  const refs: Reference[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), `modelpin-corpus-${m.id}-`));
    let modelFile = artifact;
    if (m.format === 'tar') {
      await untar({ file: artifact, cwd: work });
      modelFile = join(work, m.entry ?? 'model.onnx');
    }
    session = await ort.InferenceSession.create(modelFile, referenceOptions());
    samples = m.samples.map((f) => readSample(DIR, f));
    for (const s of samples) refs.push({ sample: s, outputs: await session.run(feeds(ort, sampleTensors(s)), m.servableOutputs) });
  });
  afterAll(async () => {
    await session?.release();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs in-process: its tensor outputs are the servable ones, every sample answers', () => {
    const tensors = session.outputMetadata.filter((o) => o.isTensor).map((o) => o.name);
    expect(tensors).toEqual(m.servableOutputs);
    expect(session.outputMetadata.filter((o) => !o.isTensor).map((o) => o.name)).toEqual(m.nonServableOutputs.map((o) => o.name));
    expect(refs).toHaveLength(m.samples.length);
    expect(m.samples.length).toBeGreaterThanOrEqual(3);
  });

  it(`batching truth holds in onnxruntime-node (expected: ${m.batching.expected ? 'sound' : 'unsound'})`, async () => {
    const truth = await rowIndependence(ort, session, samples, m.servableOutputs, TOL);
    expect(truth.expected, `${truth.reason} (build.py said: ${m.batching.reason})`).toBe(m.batching.expected);
  });

  describe.each([1, 8])('served with max batch size %i', (maxBatchSize) => {
    let srv: Running;
    let notReady: string | undefined;
    const cache = () => mkdtempSync(join(tmpdir(), 'modelpin-corpus-cache-'));
    let cacheDir: string;

    beforeAll(async () => {
      cacheDir = cache();
      const fx: Fixture = { dir: cacheDir, file: artifact, uri: pathToFileURL(artifact).href, digest: m.digest, cleanup: () => {} };
      srv = await startServer(fx, {
        maxBatchSize,
        maxBatchDelayMs: maxBatchSize > 1 ? 20 : 0,
        ...(m.format === 'tar' ? { format: 'tar' as const, entry: m.entry ?? 'model.onnx' } : {}),
        ...explicitWarmup(cacheDir, samples),
      });
      await srv.handle.ready.catch((err: Error) => {
        notReady = err.message;
      });
    });
    afterAll(async () => {
      await srv?.stop();
      rmSync(cacheDir, { recursive: true, force: true });
    });

    const ready = () => {
      if (notReady !== undefined) throw new Error(`the server never became ready: ${notReady}`);
    };

    it('becomes ready; metadata lists the servable outputs and the expected batching decision', async () => {
      ready();
      const meta = await get(srv.url('/v2/models/m'));
      expect(meta.status, meta.text).toBe(200);
      expect((meta.json.outputs as { name: string }[]).map((o) => o.name).sort()).toEqual([...m.servableOutputs].sort());
      const want = maxBatchSize > 1 && m.batching.expected;
      expect(meta.json.parameters.dynamic_batching, `${m.batching.reason}; server says: ${meta.json.parameters.dynamic_batching_off_reason ?? 'batching on'}`).toBe(want);
    });

    it('answers every sample over JSON as in-process ONNX Runtime does', async () => {
      ready();
      const bad: string[] = [];
      for (const ref of refs) bad.push(...problems(await postJson(srv, ref.sample.body), ref, m.servableOutputs));
      expect(bad.join('\n')).toBe('');
    });

    it('answers every sample over the binary tensor extension as in-process ONNX Runtime does', async () => {
      ready();
      const bad: string[] = [];
      for (const ref of refs) bad.push(...problems(await postBinary(srv, ref.sample), ref, m.servableOutputs));
      expect(bad.join('\n')).toBe('');
    });

    it('answers concurrent requests (JSON and binary, every sample twice) each as in-process', async () => {
      ready();
      const jobs = [...refs, ...refs].flatMap((ref) => [
        postJson(srv, ref.sample.body).then((a) => problems(a, ref, m.servableOutputs)),
        postBinary(srv, ref.sample).then((a) => problems(a, ref, m.servableOutputs)),
      ]);
      const bad = (await Promise.all(jobs)).flat();
      expect([...new Set(bad)].join('\n')).toBe('');
    });
  });
});

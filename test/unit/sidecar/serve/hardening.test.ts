// What an adversary found in the sidecar (issue #10), each as a regression test, plus the seeded
// fuzzers that found them (bounded and fast). Real servers on 127.0.0.1, real ONNX Runtime.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../fixtures/onnx/builder.js';
import { allTypesModel, mlpModel, slowModel } from '../../../fixtures/onnx/models.js';
import { get, post, startServer, writeModel, type Fixture, type Reply, type Running } from './support.js';

const row = Array.from({ length: 64 }, (_, i) => i / 64);
const mlpBody = (rows = 1) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: Array.from({ length: rows }, () => row).flat() }] });

/** A raw request with the path exactly as given (fetch would normalise it). */
function raw(port: number, path: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('serve hardening: requests', () => {
  let mlp: Fixture;
  let types: Fixture;
  let srv: Running;
  let typesSrv: Running;
  beforeAll(async () => {
    mlp = writeModel(mlpModel());
    types = writeModel(allTypesModel());
    srv = await startServer(mlp, { maxBatchSize: 4 });
    typesSrv = await startServer(types, { name: 'types', maxBatchSize: 1 });
    await Promise.all([srv.handle.ready, typesSrv.handle.ready]);
  });
  afterAll(async () => {
    await srv.stop();
    await typesSrv.stop();
    mlp.cleanup();
    types.cleanup();
  });

  it('answers a malformed percent-escape in any path segment with 400, and keeps serving', async () => {
    for (const path of ['/v2/models/%E0%A4%A', '/v2/models/m/versions/%E0%A4%A', '/v2/models/%ZZ/infer', '/v2/models/m%/ready', '/v2/models/%E0%A4%A/config']) {
      const r = await raw(srv.handle.port, path);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body).error, path).toContain('is not valid percent-encoding');
    }
    expect((await get(srv.url('/v2/health/live'))).status).toBe(200);
  });

  it("turns a handler's unexpected exception into a 500 for that request, never a process exit", async () => {
    const svc = srv.handle.service;
    const original = svc.metadata.bind(svc);
    svc.metadata = () => {
      throw new TypeError('boom: a bug in a handler');
    };
    try {
      const r = await get(srv.url('/v2/models/m'));
      expect(r.status).toBe(500);
      // The client learns nothing of the internals; the log has the stack.
      expect(r.json).toEqual({ error: 'internal error while handling the request (logged by the server)' });
    } finally {
      svc.metadata = original;
    }
    expect((await get(srv.url('/v2/models/m'))).status).toBe(200);
    expect((await post(srv.url('/v2/models/m/infer'), mlpBody())).status).toBe(200);
  });

  it('bounds the rows of one request: --max-batch-size with batching, --max-request-rows without', async () => {
    const r = await post(srv.url('/v2/models/m/infer'), mlpBody(1000));
    expect(r.status).toBe(400);
    expect(r.json.error).toBe("input 'input' has 1000 rows (dimension 0) but this server takes at most 4 rows per request (--max-batch-size 4); split the request");
    expect((await post(srv.url('/v2/models/m/infer'), mlpBody(4))).status).toBe(200);
    const unbatched = await startServer(mlp, { name: 'u', maxBatchSize: 1, maxRequestRows: 8, cacheDir: mlp.dir + '/cache-rows' });
    await unbatched.handle.ready;
    const r2 = await post(unbatched.url('/v2/models/u/infer'), mlpBody(9));
    expect(r2.status).toBe(400);
    expect(r2.json.error).toContain('at most 8 rows per request (--max-request-rows 8)');
    expect((await post(unbatched.url('/v2/models/u/infer'), mlpBody(8))).status).toBe(200);
    await unbatched.stop();
  });

  it('answers deeply nested JSON in datatype, shape or data with 400, not a stack overflow', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    for (const n of [3000, 5000]) {
      for (const body of [
        `{"inputs":[{"name":"input","datatype":${deep(n)},"shape":[1,64],"data":[0]}]}`,
        `{"inputs":[{"name":"input","datatype":"FP32","shape":${deep(n)},"data":[0]}]}`,
        `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,64],"data":${deep(n)}}]}`,
        `{"inputs":[{"name":${deep(n)},"datatype":"FP32","shape":[1,64],"data":[0]}]}`,
        `{"id":${deep(n)},"inputs":[]}`,
      ]) {
        const r = await post(srv.url('/v2/models/m/infer'), body);
        expect(r.status, body.slice(0, 60)).toBe(400);
        expect(r.text.length).toBeLessThan(1000);
      }
    }
  });

  it('never echoes a huge value back: quoted values in errors are bounded', async () => {
    const name = 'x'.repeat(10 * 1024 * 1024);
    const r = await post(srv.url('/v2/models/m/infer'), { inputs: [{ name, datatype: 'FP32', shape: [1, 64], data: row }] });
    expect(r.status).toBe(400);
    expect(r.text.length).toBeLessThan(1000);
    expect(r.json.error).toContain(`(${name.length} chars)`);
    const dt = await post(srv.url('/v2/models/m/infer'), { inputs: [{ name: 'input', datatype: 'F'.repeat(1 << 20), shape: [1, 64], data: row }] });
    expect(dt.status).toBe(400);
    expect(dt.text.length).toBeLessThan(1000);
    const model = await post(srv.url(`/v2/models/${'m'.repeat(10_000)}/infer`), mlpBody());
    expect(model.status).toBe(404);
    expect(model.text.length).toBeLessThan(1000);
  });

  it('round-trips BYTES exactly, or refuses what ONNX Runtime strings cannot carry (NUL, non-UTF-8)', async () => {
    const url = typesSrv.url('/v2/models/types/infer');
    const strOnly = (data: unknown) => ({
      inputs: (JSON.parse(`{"x":[${typesInputs()}]}`) as { x: Record<string, unknown>[] }).x.map((t) => (t.name === 'in_str' ? { ...t, data } : t)),
      outputs: [{ name: 'out_str' }],
    });
    const ok = await post(url, strOnly(['plain', 'h\u00e9llo', '\u{1F600}', '']));
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.outputs[0].data).toEqual(['plain', 'h\u00e9llo', '\u{1F600}', '']);
    const nul = await post(url, strOnly(['a\u0000b', 'x', 'y', 'z']));
    expect(nul.status).toBe(400);
    expect(nul.json.error).toBe("input 'in_str': BYTES element 0 contains a NUL byte, which ONNX Runtime string tensors cannot carry");
    const lone = await post(url, `{"inputs":[${typesInputs().replace('"data":["a","b","c","d"]', '"data":["a","\\ud800","c","d"]')}],"outputs":[{"name":"out_str"}]}`);
    expect(lone.status).toBe(400);
    expect(lone.json.error).toContain('BYTES element 1 is not well-formed Unicode');
    // Binary extension: JPEG magic bytes are not text.
    const header = JSON.stringify({
      inputs: (JSON.parse(`{"x":[${typesInputs()}]}`) as { x: Record<string, unknown>[] }).x.map((t) => (t.name === 'in_str' ? { name: 'in_str', datatype: 'BYTES', shape: [2, 2], parameters: { binary_data_size: 4 * 4 + 6 + 3 } } : t)),
      outputs: [{ name: 'out_str' }],
    });
    const el = (b: Buffer) => Buffer.concat([Buffer.from(Uint32Array.of(b.length).buffer), b]);
    const bin = Buffer.concat([el(Buffer.from('ffd8ffe00010', 'hex')), el(Buffer.from('a')), el(Buffer.from('b')), el(Buffer.from('c'))]);
    const r = await post(url, Buffer.concat([Buffer.from(header), bin]), { 'inference-header-content-length': String(Buffer.byteLength(header)), 'content-type': 'application/octet-stream' });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe("input 'in_str': BYTES element 0 is not valid UTF-8; ONNX Runtime string tensors carry UTF-8 text only");
  });
});

/** Valid JSON inputs for every tensor of allTypesModel ([2,2] each). */
function typesInputs(): string {
  const v: Record<string, string> = {
    bool: '[true,false,true,false]',
    str: '["a","b","c","d"]',
    f16: '[1,2,3,4]',
    f32: '[1,2,3,4]',
    f64: '[1,2,3,4]',
  };
  const names = ['bool', 'u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64', 'f16', 'f32', 'f64', 'str'];
  const dt: Record<string, string> = { bool: 'BOOL', u8: 'UINT8', u16: 'UINT16', u32: 'UINT32', u64: 'UINT64', i8: 'INT8', i16: 'INT16', i32: 'INT32', i64: 'INT64', f16: 'FP16', f32: 'FP32', f64: 'FP64', str: 'BYTES' };
  return names.map((n) => `{"name":"in_${n}","datatype":"${dt[n]}","shape":[2,2],"data":${v[n] ?? '[1,2,3,4]'}}`).join(',');
}

describe('serve hardening: inference never blocks the event loop', () => {
  let slow: Fixture;
  let srv: Running;
  beforeAll(async () => {
    slow = writeModel(slowModel(512));
    srv = await startServer(slow, { name: 's', maxBatchSize: 1, maxQueue: 1 });
    await srv.handle.ready;
  });
  afterAll(async () => {
    await srv.stop();
    slow.cleanup();
  });

  it('answers health, metrics, metadata and overload (503) while a long inference runs', async () => {
    // One request of many rows keeps the only worker busy for seconds.
    const rows = 300;
    let finished = false;
    const long = post(srv.url('/v2/models/s/infer'), { inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 1], data: Array.from({ length: rows }, (_, i) => i) }] }).then((r) => {
      finished = true;
      return r;
    });
    while (srv.handle.service.busyWorkers === 0) await new Promise((r) => setTimeout(r, 5));
    const waited: Record<string, number> = {};
    const timed = async (what: string, f: () => Promise<Reply>) => {
      const t = performance.now();
      const r = await f();
      waited[what] = performance.now() - t;
      return r;
    };
    expect((await timed('live', () => get(srv.url('/v2/health/live')))).status).toBe(200);
    expect((await timed('ready', () => get(srv.url('/v2/health/ready')))).status).toBe(200);
    expect((await timed('metrics', () => get(srv.url('/metrics')))).text).toContain('modelpin_infer_inflight_requests');
    expect((await timed('metadata', () => get(srv.url('/v2/models/s')))).status).toBe(200);
    // --max-queue 1: one request queued behind the running one, the next is refused at once.
    const small = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] };
    const queued = post(srv.url('/v2/models/s/infer'), small);
    await new Promise((r) => setTimeout(r, 20));
    const refused = await timed('overload 503', () => post(srv.url('/v2/models/s/infer'), small));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    // Everything above was answered while the inference was still running.
    expect(finished).toBe(false);
    console.log('answered during a long inference (ms):', JSON.stringify(Object.fromEntries(Object.entries(waited).map(([k, v]) => [k, Math.round(v * 10) / 10]))));
    expect((await long).status).toBe(200);
    expect((await queued).status).toBe(200);
  }, 120_000);
});

describe('serve hardening: seeded fuzzers', () => {
  let mlp: Fixture;
  let types: Fixture;
  let srv: Running;
  let typesSrv: Running;
  beforeAll(async () => {
    mlp = writeModel(mlpModel());
    types = writeModel(allTypesModel());
    srv = await startServer(mlp, { maxBatchSize: 8, maxBodyBytes: 1 << 20 });
    typesSrv = await startServer(types, { name: 'types', maxBatchSize: 8, maxBodyBytes: 1 << 20 });
    await Promise.all([srv.handle.ready, typesSrv.handle.ready]);
  });
  afterAll(async () => {
    await srv.stop();
    await typesSrv.stop();
    mlp.cleanup();
    types.cleanup();
  });

  const TOKENS = ['{', '}', '[', ']', ',', ':', '"', '\\', 'null', 'true', '-', '1e309', '9223372036854775808', '"\\u0000"', '"\\ud800"', '-0', 'NaN', '[[[[[[[[', '"FP32"', '"BYTES"', '"shape"', '"data"', '"inputs"', '"binary_data_size"', '"parameters"', '"outputs"', '"id"', '0', '65536'];

  /** One seeded mutation of a valid body: flips, cuts, splices, repeats, token insertions. */
  function mutate(body: string, rand: () => number): string {
    let s = body;
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) {
      const at = Math.floor(rand() * (s.length + 1));
      switch (Math.floor(rand() * 6)) {
        case 0:
          s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 128)) + s.slice(at + 1);
          break;
        case 1:
          s = s.slice(0, at);
          break;
        case 2:
          s = s.slice(0, at) + TOKENS[Math.floor(rand() * TOKENS.length)] + s.slice(at);
          break;
        case 3: {
          const len = Math.floor(rand() * 40);
          s = s.slice(0, at) + s.slice(at, at + len).repeat(1 + Math.floor(rand() * 50)) + s.slice(at + len);
          break;
        }
        case 4:
          s = s.slice(0, at) + s.slice(at + Math.floor(rand() * 20));
          break;
        default:
          s = s.replace(/\d+/, String(Math.floor(rand() * 2 ** 40)));
      }
    }
    return s;
  }

  it('answers 2,000 mutated inference bodies with 200 or a precise 4xx, never a 5xx, and stays up', async () => {
    const rand = seededRandom(20261202);
    const bases = [
      { url: srv.url('/v2/models/m/infer'), body: JSON.stringify(mlpBody(2)) },
      { url: typesSrv.url('/v2/models/types/infer'), body: `{"id":"r1","inputs":[${typesInputs()}],"outputs":[{"name":"out_i64"},{"name":"out_str","parameters":{"binary_data":true}}]}` },
    ];
    const seen = new Map<number, number>();
    const jobs = Array.from({ length: 2000 }, () => {
      const base = bases[Math.floor(rand() * bases.length)]!;
      return { url: base.url, body: mutate(base.body, rand) };
    });
    for (let i = 0; i < jobs.length; i += 16) {
      const replies = await Promise.all(jobs.slice(i, i + 16).map((j) => post(j.url, j.body)));
      for (const [k, r] of replies.entries()) {
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        expect([200, 400, 413], `${r.status} ${r.text.slice(0, 200)} for ${jobs[i + k]!.body.slice(0, 200)}`).toContain(r.status);
        if (r.status !== 200) {
          expect(typeof r.json?.error).toBe('string');
          expect(r.text.length).toBeLessThan(2000);
        }
      }
    }
    expect(seen.get(400)).toBeGreaterThan(500);
    expect((await get(srv.url('/v2/health/live'))).status).toBe(200);
    expect((await post(srv.url('/v2/models/m/infer'), mlpBody())).status).toBe(200);
  }, 120_000);

  it('answers 1,000 hostile paths and methods with 2xx/4xx, never a 5xx or a crash', async () => {
    const rand = seededRandom(7);
    const parts = ['v2', 'models', 'm', 'versions', '1', 'infer', 'ready', 'config', 'stats', 'health', 'live', '%', '%E0%A4%A', '%ZZ', '%00', '..', '.', '', 'x'.repeat(300), '%2F', 'repository', 'index', '%F0%9F%98%80'];
    for (let i = 0; i < 1000; i++) {
      const n = 1 + Math.floor(rand() * 6);
      const path = '/' + Array.from({ length: n }, () => parts[Math.floor(rand() * parts.length)]!).join('/');
      const method = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'][Math.floor(rand() * 7)]!;
      const { status } = await raw(srv.handle.port, path, method, method === 'POST' ? '{}' : undefined);
      expect(status, `${method} ${path}`).toBeLessThan(500);
    }
    expect((await get(srv.url('/v2/health/live'))).status).toBe(200);
  }, 60_000);
});

describe('REST routes: 404 for unknown, 405 + Allow for a wrong method, Triton extras, access log', () => {
  it('answers every route as a KServe/Triton client expects', async () => {
    const fx = writeModel(mlpModel());
    const lines: { msg: string; [k: string]: unknown }[] = [];
    const { createLogger } = await import('../../../../sidecar/log.js');
    const { startServe } = await import('../../../../sidecar/serve/index.js');
    const { fetchArtifact } = await import('../../../../sidecar/fetch/index.js');
    const { testConfig } = await import('./support.js');
    const h = await startServe(testConfig(fx, { name: 'mlp', modelVersion: '3', maxBatchSize: 8, accessLog: true }), {
      fetch: fetchArtifact,
      log: createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
    });
    await h.ready;
    const url = (p: string) => `http://127.0.0.1:${h.port}${p}`;
    // Unknown routes are 404 whatever the method (a POST used to get 405).
    for (const [m, p] of [['POST', '/nope'], ['POST', '/v2/nope'], ['GET', '/v2/models/mlp/nope'], ['DELETE', '/metrics/x']] as const) {
      const r = await fetch(url(p), { method: m });
      expect(r.status, `${m} ${p}`).toBe(404);
      expect(((await r.json()) as { error: string }).error).toContain('no route for');
    }
    for (const [m, p, allow] of [['PUT', '/v2/models/mlp/infer', 'POST'], ['POST', '/v2/health/live', 'GET, HEAD'], ['GET', '/v2/repository/index', 'POST']] as const) {
      const r = await fetch(url(p), { method: m });
      expect(r.status, `${m} ${p}`).toBe(405);
      expect(r.headers.get('allow')).toBe(allow);
    }
    expect((await fetch(url('/v2/health/ready'), { method: 'HEAD' })).status).toBe(200);
    const index = await post(url('/v2/repository/index'), {});
    expect(index.json).toEqual([{ name: 'mlp', version: '3', state: 'READY' }]);
    const config = (await get(url('/v2/models/mlp/versions/3/config'))).json;
    expect(config).toMatchObject({
      name: 'mlp',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [64] }],
      output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [10] }],
      dynamic_batching: { max_queue_delay_microseconds: 0 },
      instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    });
    expect((await post(url('/v2/models/mlp/infer'), mlpBody())).status).toBe(200);
    const stats = (await get(url('/v2/models/mlp/stats'))).json.model_stats[0];
    expect(stats).toMatchObject({ name: 'mlp', version: '3', inference_count: 1, execution_count: 1, inference_stats: { success: { count: 1 }, fail: { count: 0 } } });
    expect(stats.inference_stats.success.ns).toBeGreaterThan(0);
    expect((await get(url('/v2/models/stats'))).json.model_stats[0].name).toBe('mlp');
    await h.shutdown();
    const access = lines.filter((l) => l.msg === 'request');
    expect(access.length).toBeGreaterThanOrEqual(12);
    expect(access.find((l) => l.path === '/v2/models/mlp/infer' && l.method === 'POST')).toMatchObject({ method: 'POST', status: 200, protocol: 'rest', durationMs: expect.any(Number) });
    fx.cleanup();
  });
});

// `modelpin serve` as the container runs it: the built CLI in a child process, configured by
// flags or MODELPIN_* env, found by its "listening" log line. Covers SIGTERM drain (and its
// deadline), a tampered artifact, and a real third-party V2 client (tritonclient[http]).
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTypesModel, mlpModel, slowModel } from '../fixtures/onnx/models.js';
import { get, post, writeModel, type Fixture } from '../unit/sidecar/serve/support.js';
import { CLI, spawnServe, type ServeProcess } from './support/serve-process.js';
import { ALL_TYPES_FEEDS_PY } from './support/python-peers.js';

const python = process.env.MODELPIN_PEERS_PYTHON ?? '/root/.cache/modelpin/venv-peers/bin/python';

describe('modelpin serve (CLI)', () => {
  let mlp: Fixture;
  let slow: Fixture;
  let types: Fixture;
  const procs: ServeProcess[] = [];
  beforeAll(() => {
    mlp = writeModel(mlpModel());
    slow = writeModel(slowModel(384));
    types = writeModel(allTypesModel());
  });
  afterAll(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    mlp.cleanup();
    slow.cleanup();
    types.cleanup();
  });
  const serve = (fx: Fixture, extra: string[] = [], env: Record<string, string> = {}) => {
    const defaults = ['--name', 'm', '--cache-dir', join(fx.dir, 'cache')].filter((_, i, a) => (i % 2 === 0 ? !extra.includes(a[i]!) : !extra.includes(a[i - 1]!)));
    const p = spawnServe(['serve', '--uri', fx.uri, '--digest', fx.digest, '--port', '0', '--host', '127.0.0.1', ...defaults, ...extra], env);
    procs.push(p);
    return p;
  };

  it('on SIGTERM turns unready, completes in-flight requests and exits 0', async () => {
    const p = serve(slow, ['--max-batch-size', '1', '--drain-timeout-seconds', '20', '--drain-delay-seconds', '0']);
    const base = `http://127.0.0.1:${await p.port}`;
    await p.ready;
    const rows = 48;
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 1], data: Array.from({ length: rows }, (_, i) => i) }] };
    const inflight = Array.from({ length: 5 }, () => post(`${base}/v2/models/m/infer`, body));
    const held = async () => Number(/modelpin_infer_inflight_requests\{[^}]*\} (\d+)/.exec((await get(`${base}/metrics`)).text)![1]);
    while ((await held()) < 3) await new Promise((r) => setTimeout(r, 2));
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const rs = await Promise.all(inflight);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(rs[0]!.json.outputs[0].shape).toEqual([rows]);
    const { code } = await p.exit;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const msgs = p.logs().map((l) => l.msg);
    expect(msgs).toContain('shutting down');
    expect(msgs).toContain('drained; exiting');
  });

  it('exits non-zero at --drain-timeout-seconds, on time, even while an inference is running', async () => {
    const p = serve(slow, ['--max-batch-size', '1', '--drain-timeout-seconds', '1', '--drain-delay-seconds', '0']);
    const base = `http://127.0.0.1:${await p.port}`;
    await p.ready;
    // 8 requests: far more work than the 1 s deadline even on a much faster machine.
    const rows = 600;
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 1], data: Array.from({ length: rows }, (_, i) => i) }] };
    const inflight = Array.from({ length: 8 }, () => post(`${base}/v2/models/m/infer`, body).catch((e: Error) => e));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const { code, signal } = await p.exit;
    // An ONNX Runtime run cannot be interrupted, but it runs in a worker thread: the main thread
    // keeps the deadline and ends the process by SIGTERM's default action (status 143), instead of
    // waiting for the run (a single 600-row request takes many seconds here).
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(p.logs().some((l) => l.msg === 'drain timed out with requests still in flight')).toBe(true);
    await Promise.all(inflight);
  });

  it('never becomes ready on a tampered artifact: exits 1 with MODELPIN_E_DIGEST_MISMATCH', async () => {
    const fx = writeModel(mlpModel());
    const bytes = Buffer.from(mlpModel());
    bytes[bytes.length - 7]! ^= 0x01; // flip one bit in a weight
    writeFileSync(fx.file, bytes);
    const p = serve(fx);
    const port = await p.port;
    const polls: number[] = [];
    const poll = (async () => {
      while (p.child.exitCode === null) {
        polls.push(await get(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.status, () => 0));
      }
    })();
    const { code } = await p.exit;
    await poll;
    expect(code).toBe(1);
    expect(p.stderr()).toContain('MODELPIN_E_DIGEST_MISMATCH');
    expect(p.stderr()).toContain(fx.digest);
    expect(p.logs().some((l) => l.msg === 'ready')).toBe(false);
    expect(polls.filter((s) => s === 200)).toEqual([]);
    fx.cleanup();
  });

  it('reads every setting from MODELPIN_* environment variables', async () => {
    const p = spawnServe(['serve'], {
      MODELPIN_URI: mlp.uri,
      MODELPIN_DIGEST: mlp.digest,
      MODELPIN_NAME: 'env-model',
      MODELPIN_MODEL_VERSION: '12',
      MODELPIN_PORT: '0',
      MODELPIN_HOST: '127.0.0.1',
      MODELPIN_CACHE_DIR: join(mlp.dir, 'cache-env'),
      MODELPIN_MAX_BATCH_SIZE: '5',
      MODELPIN_MAX_BATCH_DELAY_MS: '3',
      // MODELPIN_* variables that are not serve flags (read by fetch) must not be usage errors.
      MODELPIN_S3_FORCE_PATH_STYLE: 'true',
      MODELPIN_FETCH_CONCURRENCY: '2',
      MODELPIN_DRAIN_DELAY_SECONDS: '0',
    });
    procs.push(p);
    const base = `http://127.0.0.1:${await p.port}`;
    await p.ready;
    const meta = (await get(`${base}/v2/models/env-model/versions/12`)).json;
    expect(meta.parameters).toMatchObject({ max_batch_size: 5, max_batch_delay_ms: 3, digest: mlp.digest });
    p.child.kill('SIGTERM');
    expect((await p.exit).code).toBe(0);
  });

  it('rejects a bad configuration before touching the network, as one final JSON log line', async () => {
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8' });
      const lines = r.stderr.trim().split('\n');
      // The log stays JSON throughout: no plain-text error, no stack trace.
      for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
      return { status: r.status, last: JSON.parse(lines.at(-1)!) as { level: string; code: string; error: string; fix?: string } };
    };
    const base = ['--uri', mlp.uri, '--name', 'm'];
    const r = run(...base, '--digest', 'sha256:abc');
    expect(r.status).toBe(1);
    expect(r.last).toMatchObject({ level: 'error', code: 'MODELPIN_E_SPEC_DIGEST' });
    const r2 = run(...base, '--digest', mlp.digest, '--max-batch-size', '0');
    expect(r2.status).toBe(1);
    expect(r2.last).toMatchObject({ code: 'MODELPIN_E_SERVE_CONFIG', error: '--max-batch-size must be an integer from 1 to 4096, got "0"' });
    expect(r2.last.fix).toContain('--max-batch-size');
    const r3 = run('--uri', mlp.uri, '--name', 'm');
    expect(r3.status).toBe(2);
    expect(r3.last).toMatchObject({ code: 'MODELPIN_E_USAGE', error: '--digest is required' });
    // Bad ports quote the input as given, and are user errors (exit 1), never a stack trace.
    expect(run(...base, '--digest', mlp.digest, '--port', 'abc').last).toMatchObject({ code: 'MODELPIN_E_SERVE_CONFIG', error: '--port must be an integer from 0 to 65535, got "abc"' });
    expect(run(...base, '--digest', mlp.digest, '--port', '70000')).toMatchObject({ status: 1, last: { error: '--port must be an integer from 0 to 65535, got "70000"' } });
    // Several mistakes at once are all reported.
    const many = spawnSync(process.execPath, [CLI, 'serve', ...base, '--digest', mlp.digest, '--port', 'x', '--workers', '0'], { encoding: 'utf8' });
    expect(many.stderr).toContain('--port must be');
    expect(many.stderr).toContain('--workers must be');
    // A port in use: exit 1 with the code and a fix.
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const taken = (blocker.address() as AddressInfo).port;
    const busy = run(...base, '--digest', mlp.digest, '--host', '127.0.0.1', '--port', String(taken), '--cache-dir', join(mlp.dir, 'cache-busy'));
    blocker.close();
    expect(busy.status).toBe(1);
    expect(busy.last).toMatchObject({ code: 'MODELPIN_E_SERVE_CONFIG', error: `cannot listen on 127.0.0.1:${taken}: the port is already in use (EADDRINUSE)` });
    expect(busy.last.fix).toContain('--port');
  });

  it('works with a real third-party client: tritonclient[http], JSON and binary modes', async () => {
    if (!existsSync(python)) throw new Error(`peers python not found at ${python}: set MODELPIN_PEERS_PYTHON (needs tritonclient[http], onnxruntime, numpy)`);
    const a = serve(mlp, ['--name', 'mlp', '--model-version', '1', '--cache-dir', join(mlp.dir, 'cache-tc')]);
    const b = serve(types, ['--name', 'types', '--cache-dir', join(types.dir, 'cache-tc')]);
    const [pa, pb] = await Promise.all([a.port, b.port]);
    await Promise.all([a.ready, b.ready]);
    const script = join(mlp.dir, 'client.py');
    writeFileSync(script, TRITON_SCRIPT);
    const r = spawnSync(python, [script, `127.0.0.1:${pa}`, mlp.file, `127.0.0.1:${pb}`, types.file], { encoding: 'utf8', timeout: 90_000 });
    expect(r.stderr + r.stdout, 'python client output').toContain('ALL OK');
    expect(r.status).toBe(0);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exit).code).toBe(0);
    expect((await b.exit).code).toBe(0);
  });
});

const TRITON_SCRIPT = String.raw`
import sys
import numpy as np
import onnxruntime as ort
import tritonclient.http as httpclient

mlp_url, mlp_file, types_url, types_file = sys.argv[1:5]

c = httpclient.InferenceServerClient(url=mlp_url)
assert c.is_server_live() and c.is_server_ready(), "server not live/ready"
assert c.is_model_ready("mlp", "1")
meta = c.get_model_metadata("mlp", "1")
assert meta["platform"] == "onnxruntime_onnx", meta
assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}], meta
sess = ort.InferenceSession(mlp_file)
x = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
want = sess.run(None, {"input": x})[0]
for binary in (False, True):
    i = httpclient.InferInput("input", list(x.shape), "FP32")
    i.set_data_from_numpy(x, binary_data=binary)
    o = httpclient.InferRequestedOutput("logits", binary_data=binary)
    res = c.infer("mlp", [i], model_version="1", outputs=[o], request_id="abc")
    got = res.as_numpy("logits")
    assert got.dtype == np.float32 and got.shape == (3, 10), (got.dtype, got.shape)
    # Python's onnxruntime may be a different release than onnxruntime-node (kernels may differ in the
    # last bit); exactness of the served values is asserted against onnxruntime-node elsewhere.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert res.get_response()["id"] == "abc"
try:
    c.infer("nope", [i])
    raise SystemExit("expected an error for an unknown model")
except httpclient.InferenceServerException as e:
    assert "unknown model 'nope'" in str(e), str(e)

t = httpclient.InferenceServerClient(url=types_url)
${ALL_TYPES_FEEDS_PY}for binary in (False, True):
    inputs = []
    for k, v in feeds.items():
        i = httpclient.InferInput(k, list(v.shape), dtypes[k])
        # tritonclient cannot send FP16 as JSON; binary for that one only.
        i.set_data_from_numpy(v, binary_data=binary or k == "in_f16")
        inputs.append(i)
    outs = [httpclient.InferRequestedOutput(k.replace("in_", "out_"), binary_data=binary or k == "in_f16") for k in feeds] + [httpclient.InferRequestedOutput("sum_f32", binary_data=binary)]
    res = t.infer("types", inputs, outputs=outs)
    for k in feeds:
        name = k.replace("in_", "out_")
        got = res.as_numpy(name)
        if k == "in_str":
            got = np.array([[x.decode() if isinstance(x, bytes) else x for x in row] for row in got])
            assert (got == ref[name]).all(), (name, got, ref[name])
        else:
            assert got.dtype == feeds[k].dtype, (name, binary, got.dtype)
            assert np.array_equal(got, ref[name]), (name, binary, got, ref[name])
    assert np.array_equal(res.as_numpy("sum_f32"), ref["sum_f32"]), "sum_f32"
print("ALL OK")
`;

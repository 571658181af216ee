// Readiness, overload, body limits and drain, in-process with real sockets and ORT.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { silentLogger } from '../../../../sidecar/log.js';
import { startServe, type FetchFn } from '../../../../sidecar/serve/index.js';
import { mlpModel, slowModel } from '../../../fixtures/onnx/models.js';
import { get, post, startServer, testConfig, writeModel, type Fixture } from './support.js';

const mlpBody = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0.25) }] };

describe('serve lifecycle', () => {
  let fx: Fixture;
  let slow: Fixture;
  beforeAll(() => {
    fx = writeModel(mlpModel());
    slow = writeModel(slowModel(384));
  });
  afterAll(() => {
    fx.cleanup();
    slow.cleanup();
  });

  it('is live but answers 503 everywhere model-related until fetch, load and warm-up are done', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The real fetch, held back until the test has looked at the not-ready server.
    const gatedFetch: FetchFn = async (o) => {
      await gate;
      return fetchArtifact(o);
    };
    const handle = await startServe(testConfig(fx, { cacheDir: fx.dir + '/cache-ready', maxBatchSize: 8, maxQueue: 16, maxBodyBytes: 1 << 20 }), {
      fetch: gatedFetch,
      log: silentLogger,
    });
    const url = (p: string) => `http://127.0.0.1:${handle.port}${p}`;
    expect((await get(url('/v2/health/live'))).status).toBe(200);
    const ready = await get(url('/v2/health/ready'));
    expect(ready.status).toBe(503);
    expect(ready.json.error).toBe('not ready: fetching and verifying the model artifact');
    expect((await get(url('/v2/models/m/ready'))).status).toBe(503);
    expect((await get(url('/v2/models/m'))).status).toBe(503);
    const infer = await post(url('/v2/models/m/infer'), mlpBody);
    expect(infer.status).toBe(503);
    expect(infer.json.error).toContain("model 'm' is not ready");
    expect((await get(url('/metrics'))).text).toMatch(/^modelpin_model_ready 0$/m);
    release();
    await handle.ready;
    expect((await get(url('/v2/health/ready'))).status).toBe(200);
    expect((await post(url('/v2/models/m/infer'), mlpBody)).status).toBe(200);
    const metrics = (await get(url('/metrics'))).text;
    expect(metrics).toMatch(/^modelpin_model_ready 1$/m);
    expect(metrics).toMatch(/^modelpin_fetch_bytes_total 77246$/m);
    for (const name of [
      'modelpin_infer_requests_total{model="m",version="",protocol="rest",outcome="success"} 1',
      'modelpin_infer_requests_total{model="m",version="",protocol="rest",outcome="failure"} 1',
      'modelpin_infer_requests_total{model="m",version="",protocol="grpc",outcome="success"} 0',
      'modelpin_infer_request_duration_seconds_count{model="m",version="",protocol="rest"} 2',
      'modelpin_infer_request_duration_seconds_count{model="m",version="",protocol="grpc"} 0',
      'modelpin_infer_queue_duration_seconds_count{model="m",version=""} 1',
      'modelpin_infer_compute_duration_seconds_count{model="m",version=""} 1',
      'modelpin_infer_batch_size_count{model="m",version=""} 1',
      'modelpin_infer_inflight_requests{model="m",version=""} 0',
      `modelpin_model_info{model="m",version="",digest="${fx.digest}"} 1`,
      'modelpin_fetch_duration_seconds ',
      'process_resident_memory_bytes ',
    ]) {
      expect(metrics).toContain(name);
    }
    await handle.shutdown();
  });

  it('never becomes ready when the artifact does not match its digest', async () => {
    const handle = await startServe(testConfig(fx, { digest: 'sha256:' + '0'.repeat(64), cacheDir: fx.dir + '/cache-bad' }), { fetch: fetchArtifact, log: silentLogger });
    await expect(handle.ready).rejects.toMatchObject({ code: 'MODELPIN_E_DIGEST_MISMATCH' });
    expect(handle.service.isReady).toBe(false);
    // The listener is closed: nothing can reach a model that was never loaded.
    await expect(fetch(`http://127.0.0.1:${handle.port}/v2/health/ready`)).rejects.toThrow();
  });

  it('never becomes ready when the verified file is not a loadable ONNX model', async () => {
    const junk = writeModel(new TextEncoder().encode('this is not an ONNX model'));
    const srv = await startServer(junk);
    await expect(srv.handle.ready).rejects.toMatchObject({ code: 'MODELPIN_E_MODEL_LOAD', message: expect.stringContaining('ONNX Runtime could not load') });
    expect(srv.handle.service.isReady).toBe(false);
    junk.cleanup();
  });

  it('serves the .onnx named by --entry from a verified tar artifact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelpin-tar-'));
    mkdirSync(join(dir, 'src/sub'), { recursive: true });
    writeFileSync(join(dir, 'src/sub/net.onnx'), mlpModel());
    writeFileSync(join(dir, 'src/README'), 'model card');
    await createTar({ file: join(dir, 'model.tar'), cwd: join(dir, 'src'), portable: true }, ['sub', 'README']);
    const bytes = readFileSync(join(dir, 'model.tar'));
    const fxTar = writeModel(bytes, 'model.tar');
    const srv = await startServer(fxTar, { format: 'tar', entry: 'sub/net.onnx' });
    await srv.handle.ready;
    const meta = (await get(srv.url('/v2/models/m'))).json;
    expect(meta.parameters.digest).toBe(fxTar.digest);
    expect(meta.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 64] }]);
    expect((await post(srv.url('/v2/models/m/infer'), mlpBody)).status).toBe(200);
    await srv.stop();
    fxTar.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 413 for bodies over --max-body-bytes, declared or streamed', async () => {
    const srv = await startServer(fx, { maxBodyBytes: 500, cacheDir: fx.dir + '/cache-413' });
    await srv.handle.ready;
    const big = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0.123456789) }] });
    expect(big.length).toBeGreaterThan(500);
    const r = await post(srv.url('/v2/models/m/infer'), big);
    expect(r.status).toBe(413);
    expect(r.json.error).toBe(`request body of ${big.length} bytes exceeds the limit of 500 bytes (--max-body-bytes)`);
    // Chunked upload without Content-Length: counted while streaming.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const r2 = await fetch(srv.url('/v2/models/m/infer'), { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(r2.status).toBe(413);
    expect(((await r2.json()) as { error: string }).error).toBe('request body exceeds the limit of 500 bytes (--max-body-bytes)');
    expect((await post(srv.url('/v2/models/m/infer'), mlpBody)).status).toBe(200);
    await srv.stop();
  });

  it('frees the in-flight slot of a client that disconnects mid-upload', async () => {
    const srv = await startServer(fx, { cacheDir: fx.dir + '/cache-abort' });
    await srv.handle.ready;
    const sock = connect(srv.handle.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"inputs":[');
    const inflight = async () => Number(/modelpin_infer_inflight_requests\{[^}]*\} (-?\d+)/.exec((await get(srv.url('/metrics'))).text)![1]);
    while ((await inflight()) !== 1) await new Promise((r) => setTimeout(r, 5));
    sock.destroy();
    while ((await inflight()) !== 0) await new Promise((r) => setTimeout(r, 5));
    expect((await post(srv.url('/v2/models/m/infer'), mlpBody)).status).toBe(200);
    expect(await inflight()).toBe(0);
    await srv.stop();
  });

  it('refuses work beyond --max-queue with 503 and Retry-After, and serves the rest', async () => {
    const srv = await startServer(slow, { name: 's', maxBatchSize: 1, maxQueue: 2, cacheDir: slow.dir + '/cache-q' });
    await srv.handle.ready;
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [8, 1], data: [1, 2, 3, 4, 5, 6, 7, 8] }] };
    const rs = await Promise.all(Array.from({ length: 12 }, () => post(srv.url('/v2/models/s/infer'), body)));
    const ok = rs.filter((r) => r.status === 200);
    const refused = rs.filter((r) => r.status === 503);
    expect(ok.length + refused.length).toBe(12);
    expect(refused.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThanOrEqual(3);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.json.error).toMatch(/^server overloaded: \d+ requests already queued \(--max-queue 2\); retry later$/);
    }
    await srv.stop();
  });

  it('drains: readiness false at once, in-flight requests complete, then the listener is gone', async () => {
    const srv = await startServer(slow, { name: 's', maxBatchSize: 1, cacheDir: slow.dir + '/cache-d' });
    await srv.handle.ready;
    const rows = 24;
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 1], data: Array.from({ length: rows }, (_, i) => i) }] };
    const inflight = Array.from({ length: 6 }, () => post(srv.url('/v2/models/s/infer'), body));
    // Wait until the server holds several of them (each takes tens of ms to compute).
    const held = () => get(srv.url('/metrics')).then((r) => Number(/modelpin_infer_inflight_requests\{[^}]*\} (\d+)/.exec(r.text)![1]));
    while ((await held()) < 3) await new Promise((r) => setTimeout(r, 2));
    const drained = srv.handle.shutdown();
    expect(srv.handle.service.isReady).toBe(false);
    const rs = await Promise.all(inflight);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await drained).toBe(true);
    await expect(fetch(srv.url('/v2/health/live'))).rejects.toThrow();
  });

  it('with a drain delay, keeps answering (unready) until the delay ends, then closes', async () => {
    const srv = await startServer(fx, { name: 'm', cacheDir: fx.dir + '/cache-delay', drainDelaySeconds: 2 });
    await srv.handle.ready;
    let settled = false;
    const drained = srv.handle.shutdown().then((d) => ((settled = true), d));
    // Requests a load balancer still routes here during the delay succeed; readiness says go away.
    expect((await get(srv.url('/v2/health/ready'))).status).toBe(503);
    const r = await post(srv.url('/v2/models/m/infer'), mlpBody);
    expect(r.status).toBe(200);
    expect(r.headers.get('connection')).toBe('close');
    expect(settled).toBe(false);
    expect(await drained).toBe(true);
    await expect(fetch(srv.url('/v2/health/live'))).rejects.toThrow();
  });

  it('shutdown({ delay: false }) (an interactive Ctrl-C) skips the drain delay', async () => {
    const srv = await startServer(fx, { name: 'm', cacheDir: fx.dir + '/cache-nodelay', drainDelaySeconds: 60 });
    await srv.handle.ready;
    expect(await srv.handle.shutdown({ delay: false })).toBe(true);
    await expect(fetch(srv.url('/v2/health/live'))).rejects.toThrow();
  });
});

describe('serve never loads unverified bytes from its cache', () => {
  it('a flipped byte in the cached model is found at the next start: evicted, fetched again, right answers', async () => {
    const { readdirSync, writeFileSync: write, readFileSync: read, chmodSync, rmSync: rm } = await import('node:fs');
    const fx = writeModel(mlpModel());
    const cacheDir = fx.dir + '/cache-flip';
    const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0.25) }] };
    const first = await startServer(fx, { cacheDir });
    await first.handle.ready;
    const want = (await post(first.url('/v2/models/m/infer'), body)).json.outputs[0].data;
    await first.stop();
    const blob = join(cacheDir, 'sha256', readdirSync(join(cacheDir, 'sha256'))[0]!);
    const bytes = read(blob);
    bytes[1000] = bytes[1000]! ^ 0xff;
    chmodSync(blob, 0o644);
    write(blob, bytes);
    const lines: { msg: string; cached?: boolean }[] = [];
    const { createLogger } = await import('../../../../sidecar/log.js');
    const again = await startServe(testConfig(fx, { cacheDir }), { fetch: fetchArtifact, log: createLogger({ write: (l) => lines.push(JSON.parse(l)) }) });
    await again.ready;
    expect(lines.some((l) => /corrupt|does not match|evict/i.test(l.msg))).toBe(true);
    expect(lines.find((l) => l.msg === 'ready')!.cached).toBe(false);
    const r = await post(`http://127.0.0.1:${again.port}/v2/models/m/infer`, body);
    expect(r.json.outputs[0].data).toEqual(want);
    await again.shutdown();
    // With the source gone, a corrupt cache entry means no start at all, never the wrong bytes.
    const blob2 = join(cacheDir, 'sha256', readdirSync(join(cacheDir, 'sha256'))[0]!);
    const b2 = read(blob2);
    b2[2000] = b2[2000]! ^ 0xff;
    chmodSync(blob2, 0o644);
    write(blob2, b2);
    rm(fx.file);
    const gone = await startServe(testConfig(fx, { cacheDir }), { fetch: fetchArtifact, log: silentLogger });
    await expect(gone.ready).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_NOT_FOUND' });
    expect(gone.service.isReady).toBe(false);
    fx.cleanup();
  });
});

// End to end as a pod runs it: render the bundled example spec, take the sidecar container's args
// and env from the rendered Deployment, and run `node dist/modelpin.js` with exactly those against
// the example model uploaded to a real MinIO. Only the pod's surroundings are substituted: the
// mounted paths (credentials Secret, cache emptyDir) become temp dirs, the container port becomes
// a free port, and MinIO's endpoint comes in through the standard AWS_* / MODELPIN_* env.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMinio, type MinioServer } from './support/minio.js';
import { spawnServe, type ServeProcess } from './support/serve-process.js';
import { get, post } from '../unit/sidecar/serve/support.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/modelpin.js');
const EXAMPLE = join(ROOT, 'plugin/examples/fraud-detector');

interface Container {
  name: string;
  args: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

function renderSidecar(): Container {
  const r = spawnSync(process.execPath, [CLI, 'render', EXAMPLE, '-o', 'json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const list = JSON.parse(r.stdout) as { items: { kind: string; spec?: { template?: { spec: { containers: Container[]; initContainers?: Container[] } } } }[] };
  const workload = list.items.find((o) => o.kind === 'Deployment' || o.kind === 'Rollout')!;
  const pod = workload.spec!.template!.spec;
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x) => x.args?.[0] === 'serve');
  if (!c) throw new Error('no container running `modelpin serve` in the rendered pod');
  return c;
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('serve e2e: rendered example spec → sidecar process → MinIO', () => {
  let minio: MinioServer;
  let work: string;
  const modelBytes = readFileSync(join(EXAMPLE, 'model.onnx'));
  const procs: ServeProcess[] = [];

  beforeAll(async () => {
    minio = await startMinio();
    await minio.createBucket('models');
    work = mkdtempSync(join(tmpdir(), 'modelpin-e2e-'));
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await minio?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The rendered container, with pod mounts mapped to temp dirs; returns args and env to run it with. */
  function podProcess(container: Container, cacheDir: string): { args: string[]; env: Record<string, string> } {
    const args = container.args.slice();
    const credMount = argValue(args, '--credentials-dir');
    expect(credMount, 'the example spec references a credentials Secret').toBeDefined();
    const creds = join(work, 'credentials');
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, 'AWS_ACCESS_KEY_ID'), minio.accessKey);
    writeFileSync(join(creds, 'AWS_SECRET_ACCESS_KEY'), minio.secretKey);
    args[args.indexOf('--credentials-dir') + 1] = creds;
    // containerPort → a free port on loopback.
    args[args.indexOf('--port') + 1] = '0';
    // This test speaks REST: gRPC off rather than the rendered 8081, which may be taken here.
    args[args.indexOf('--grpc-port') + 1] = '0';
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    // Credentials come only from the mounted Secret: scrub any from the test runner's env.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('MODELPIN_')));
    return {
      args,
      env: {
        ...(base as Record<string, string>),
        ...env,
        AWS_ENDPOINT_URL_S3: minio.endpoint,
        MODELPIN_S3_FORCE_PATH_STYLE: 'true',
        // The cache emptyDir mount (the rendered args use the default /var/cache/modelpin).
        MODELPIN_CACHE_DIR: cacheDir,
        MODELPIN_HOST: '127.0.0.1',
      },
    };
  }

  it('serves the example model from S3 with the rendered configuration, equal to in-process ONNX Runtime', async () => {
    const container = renderSidecar();
    const uri = argValue(container.args, '--uri')!;
    expect(uri).toMatch(/^s3:\/\//);
    const [bucket, ...key] = uri.slice('s3://'.length).split('/');
    expect(bucket).toBe('models');
    await minio.putObject(bucket!, key.join('/'), modelBytes);
    const { args, env } = podProcess(container, join(work, 'cache'));
    const p = spawnServe(args, env);
    procs.push(p);
    const base = `http://127.0.0.1:${await p.port}`;
    await p.ready;

    const name = argValue(args, '--name')!;
    const meta = (await get(`${base}/v2/models/${name}`)).json;
    expect(meta.parameters.digest).toBe(argValue(args, '--digest'));
    expect(meta.parameters).toMatchObject({ dynamic_batching: true, max_batch_size: Number(argValue(args, '--max-batch-size')) });
    expect(meta.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 64] }]);

    const session = await ort.InferenceSession.create(join(EXAMPLE, 'model.onnx'));
    let seed = 3;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 6 - 3;
    const requests = Array.from({ length: 40 }, (_, i) => {
      const rows = 1 + (i % 4);
      return { rows, data: Float32Array.from({ length: rows * 64 }, rnd) };
    });
    // JSON, concurrently (so the batcher concatenates them).
    const replies = await Promise.all(
      requests.map((r, i) =>
        post(`${base}/v2/models/${name}/infer`, { id: `q${i}`, inputs: [{ name: 'input', datatype: 'FP32', shape: [r.rows, 64], data: Array.from(r.data) }] }),
      ),
    );
    for (const [i, r] of requests.entries()) {
      const want = (await session.run({ input: new ort.Tensor('float32', r.data, [r.rows, 64]) })).logits!.data as Float32Array;
      expect(replies[i]!.status).toBe(200);
      expect(replies[i]!.json.id).toBe(`q${i}`);
      expect(replies[i]!.json.outputs[0].data).toEqual(Array.from(want));
    }
    // Binary extension.
    const r0 = requests[3]!;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [r0.rows, 64], parameters: { binary_data_size: r0.data.byteLength } }], parameters: { binary_data_output: true } }));
    const res = await fetch(`${base}/v2/models/${name}/infer`, {
      method: 'POST',
      headers: { 'Inference-Header-Content-Length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(r0.data.buffer)]),
    });
    expect(res.status).toBe(200);
    const all = Buffer.from(await res.arrayBuffer());
    const hlen = Number(res.headers.get('inference-header-content-length'));
    const got = new Float32Array(all.buffer.slice(all.byteOffset + hlen, all.byteOffset + all.length));
    const want0 = (await session.run({ input: new ort.Tensor('float32', r0.data, [r0.rows, 64]) })).logits!.data as Float32Array;
    expect(Array.from(got)).toEqual(Array.from(want0));

    const metrics = (await get(`${base}/metrics`)).text;
    expect(metrics).toMatch(new RegExp(`^modelpin_fetch_bytes_total ${modelBytes.length}$`, 'm'));
    expect(metrics).toContain(`modelpin_infer_requests_total{model="${name}",version="",protocol="rest",outcome="success"} 41`);
    p.child.kill('SIGTERM');
    expect((await p.exit).code).toBe(0);
    // The pod's logs are one JSON object per line (nothing else, e.g. an SDK notice, on stderr).
    for (const line of p.stderr().split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it('never becomes ready when the object in S3 was tampered with', async () => {
    const container = renderSidecar();
    const uri = argValue(container.args, '--uri')!;
    const [bucket, ...key] = uri.slice('s3://'.length).split('/');
    const tampered = Buffer.from(modelBytes);
    tampered[tampered.length - 11]! ^= 0x40;
    await minio.putObject(bucket!, key.join('/'), tampered);
    const { args, env } = podProcess(container, join(work, 'cache-tampered'));
    const p = spawnServe(args, env);
    procs.push(p);
    await p.port;
    const { code } = await p.exit;
    expect(code).toBe(1);
    expect(p.stderr()).toContain('MODELPIN_E_DIGEST_MISMATCH');
    expect(p.logs().some((l) => l.msg === 'ready')).toBe(false);
    await minio.putObject(bucket!, key.join('/'), modelBytes);
  });
});

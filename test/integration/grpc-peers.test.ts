// gRPC against the peers' own code: the built CLI serving, KServe's and Triton's Python packages
// (their generated descriptors, tritonclient[grpc] and [http], kserve.InferenceGRPCClient),
// protoc (grpcio-tools) and grpcurl through server reflection. Plus the drain: SIGTERM during
// gRPC load loses no accepted request.
import * as grpc from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_DESCRIPTORS } from '../../sidecar/serve/grpc/descriptors.generated.js';
import { allTypesModel, mlpModel, slowModel } from '../fixtures/onnx/models.js';
import { freePort } from '../tools/net.js';
import { repoRoot } from '../tools/repo-root.js';
import { msg } from '../unit/sidecar/serve/grpc-support.js';
import { writeModel, type Fixture } from '../unit/sidecar/serve/support.js';
import { spawnServe, type ServeProcess } from './support/serve-process.js';
import { ALL_TYPES_FEEDS_PY } from './support/python-peers.js';

const python = process.env.MODELPIN_PEERS_PYTHON ?? '/root/.cache/modelpin/venv-peers/bin/python';
const grpcurl = process.env.MODELPIN_GRPCURL_BIN ?? join(process.env.HOME ?? '/root', '.cache/modelpin/bin/grpcurl');

function needs(bin: string, what: string): void {
  if (!existsSync(bin)) throw new Error(`${what} not found at ${bin}: run bash .ci/run once (it installs it), or set the variable`);
}

function py(dir: string, name: string, script: string, args: string[]): { out: string; status: number | null } {
  const file = join(dir, name);
  writeFileSync(file, script);
  const r = spawnSync(python, [file, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { out: r.stdout + r.stderr, status: r.status };
}

describe('gRPC with the peers', () => {
  let mlp: Fixture;
  let types: Fixture;
  const procs: ServeProcess[] = [];
  let a: ServeProcess;
  let b: ServeProcess;
  let ports: { mlp: number; mlpGrpc: number; types: number; typesGrpc: number };
  beforeAll(async () => {
    needs(python, 'the peers python (MODELPIN_PEERS_PYTHON)');
    mlp = writeModel(mlpModel());
    types = writeModel(allTypesModel());
    const [g1, g2] = [await freePort(), await freePort()];
    a = spawnServe(['serve', '--uri', mlp.uri, '--digest', mlp.digest, '--name', 'mlp', '--model-version', '1', '--port', '0', '--grpc-port', String(g1), '--host', '127.0.0.1', '--cache-dir', join(mlp.dir, 'c'), '--max-batch-size', '8']);
    b = spawnServe(['serve', '--uri', types.uri, '--digest', types.digest, '--name', 'types', '--port', '0', '--grpc-port', String(g2), '--host', '127.0.0.1', '--cache-dir', join(types.dir, 'c')]);
    procs.push(a, b);
    ports = { mlp: await a.port, mlpGrpc: await a.grpcPort, types: await b.port, typesGrpc: await b.grpcPort };
    await Promise.all([a.ready, b.ready]);
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    mlp?.cleanup();
    types?.cleanup();
  });

  it("has the wire contract of KServe's grpc_predict_v2 and Triton's grpc_service: names, numbers, types; and protoc's descriptors", () => {
    const r = py(mlp.dir, 'descriptors.py', DESCRIPTOR_SCRIPT, [join(repoRoot(), 'sidecar/serve/grpc'), JSON.stringify(FILE_DESCRIPTORS)]);
    expect(r.out).toContain('DESCRIPTORS OK');
    expect(r.status).toBe(0);
  });

  it('tritonclient[grpc] and tritonclient[http]: metadata, config, statistics, every datatype (BYTES and FP16 too) against onnxruntime', () => {
    const r = py(mlp.dir, 'triton.py', TRITON_SCRIPT, [`127.0.0.1:${ports.mlpGrpc}`, `127.0.0.1:${ports.mlp}`, mlp.file, `127.0.0.1:${ports.typesGrpc}`, `127.0.0.1:${ports.types}`, types.file]);
    expect(r.out).toContain('ALL OK');
    expect(r.status).toBe(0);
  });

  it("KServe's own gRPC client (kserve.InferenceGRPCClient): typed and raw contents", () => {
    const r = py(mlp.dir, 'kserve_client.py', KSERVE_SCRIPT, [`127.0.0.1:${ports.mlpGrpc}`, mlp.file, `127.0.0.1:${ports.typesGrpc}`, types.file]);
    expect(r.out).toContain('ALL OK');
    expect(r.status).toBe(0);
  });

  it('grpcurl, through server reflection only: list, describe, health, metadata and an inference', () => {
    needs(grpcurl, 'grpcurl (MODELPIN_GRPCURL_BIN)');
    const run = (...args: string[]) => {
      const r = spawnSync(grpcurl, ['-plaintext', ...args], { encoding: 'utf8', timeout: 30_000 });
      return { out: r.stdout, err: r.stderr, status: r.status };
    };
    const target = `127.0.0.1:${ports.mlpGrpc}`;
    expect(run(target, 'list').out.trim().split('\n')).toEqual(['grpc.health.v1.Health', 'grpc.reflection.v1alpha.ServerReflection', 'inference.GRPCInferenceService']);
    expect(run(target, 'describe', 'inference.ModelInferRequest').out).toContain('repeated bytes raw_input_contents = 7;');
    expect(JSON.parse(run(target, 'grpc.health.v1.Health/Check').out)).toEqual({ status: 'SERVING' });
    expect(JSON.parse(run('-d', '{"name":"mlp","version":"1"}', target, 'inference.GRPCInferenceService/ModelMetadata').out)).toMatchObject({ name: 'mlp', versions: ['1'], platform: 'onnxruntime_onnx' });
    const x = Array.from({ length: 64 }, (_, i) => Math.fround(Math.sin(i)));
    const req = { model_name: 'mlp', model_version: '1', id: 'grpcurl-1', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: x } }] };
    const res = run('-d', JSON.stringify(req), target, 'inference.GRPCInferenceService/ModelInfer');
    expect(res.err).toBe('');
    const body = JSON.parse(res.out);
    expect(body).toMatchObject({ model_name: 'mlp', model_version: '1', id: 'grpcurl-1', outputs: [{ name: 'logits', datatype: 'FP32', shape: ['1', '10'] }] });
    expect(body.outputs[0].contents.fp32_contents).toHaveLength(10);
    // A mistake: the status and REST's message.
    const bad = run('-d', JSON.stringify({ ...req, inputs: [{ ...req.inputs[0], shape: [1, 63] }] }), target, 'inference.GRPCInferenceService/ModelInfer');
    expect(bad.status).not.toBe(0);
    expect(bad.err).toContain('Code: InvalidArgument');
    expect(bad.err).toContain("Message: input 'input': dimension 1 is 63 but the model requires 64 (shape [-1,64])");
  });
});

describe('gRPC drain', () => {
  it('SIGTERM during gRPC load: every accepted request is answered, later ones are refused before they start, exit 0', async () => {
    const fx = writeModel(slowModel(160));
    const gport = await freePort();
    const p = spawnServe(['serve', '--uri', fx.uri, '--digest', fx.digest, '--name', 's', '--port', '0', '--grpc-port', String(gport), '--host', '127.0.0.1', '--cache-dir', join(fx.dir, 'c'), '--max-batch-size', '8', '--drain-delay-seconds', '1', '--drain-timeout-seconds', '20']);
    await p.ready;
    const T = msg('inference.ModelInferRequest');
    const body = Buffer.from(T.encode(T.fromObject({ model_name: 's', inputs: [{ name: 'x', datatype: 'FP32', shape: [4, 1] }], raw_input_contents: [Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer)] })).finish());
    const R = msg('inference.ModelInferResponse');
    const client = new grpc.Client(`127.0.0.1:${gport}`, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 });
    const outcomes: { ok: boolean; code?: number; details?: string; started: number; ended: number }[] = [];
    let stop = false;
    const one = () =>
      new Promise<void>((resolve) => {
        const started = performance.now();
        client.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, body, (err, res) => {
          if (err) outcomes.push({ ok: false, code: err.code, details: err.details, started, ended: performance.now() });
          else {
            const m = R.toObject(R.decode(res!)) as { outputs: unknown[] };
            outcomes.push({ ok: m.outputs.length === 1, started, ended: performance.now() });
          }
          resolve();
        });
      });
    const workers = Array.from({ length: 16 }, async () => {
      while (!stop) await one();
    });
    while (outcomes.filter((o) => o.ok).length < 50) await new Promise((r) => setTimeout(r, 10));
    const sigterm = performance.now();
    p.child.kill('SIGTERM');
    const { code } = await p.exit;
    stop = true;
    await Promise.all(workers);
    client.close();
    expect(code).toBe(0);
    const okDuringDrain = outcomes.filter((o) => o.ok && o.ended > sigterm);
    const failed = outcomes.filter((o) => !o.ok);
    // The drain delay kept answering (and whatever was in flight when the port closed finished).
    expect(okDuringDrain.length).toBeGreaterThan(0);
    // Nothing the server accepted was lost: a failure is only a call refused before it started
    // (UNAVAILABLE: the connection was closing or gone), never a dropped or cut-off one.
    for (const f of failed) {
      expect(f.code, f.details).toBe(grpc.status.UNAVAILABLE);
      expect(f.details).not.toMatch(/RST_STREAM|Stream closed|Received RST|cancel/i);
    }
    console.log("drain outcomes:", JSON.stringify({ ok: outcomes.filter((o) => o.ok).length, okAfterSigterm: okDuringDrain.length, failed: [...new Set(failed.map((f) => `${f.code} ${f.details}`))] }));
    // Every answer the server sent arrived: its count of gRPC successes is the client's.
    const drained = p.logs().find((l) => l.msg === 'drained; exiting') as unknown as { succeeded: { grpc: number }; failed: { grpc: number } };
    expect(drained.succeeded.grpc).toBe(outcomes.filter((o) => o.ok).length);
    expect(drained.failed.grpc).toBe(0);
    fx.cleanup();
  }, 120_000);
});

const DESCRIPTOR_SCRIPT = String.raw`
import sys, json, base64, subprocess, tempfile
from google.protobuf import descriptor_pb2
from google.protobuf.json_format import MessageToDict

src_dir, files = sys.argv[1], json.loads(sys.argv[2])
mine = {f["name"]: descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(f["descriptor"])) for f in files}

# 1. The embedded descriptors are what protoc makes of the .proto files.
from grpc_tools import protoc
srcs = {"inference.proto": "inference.proto", "grpc/health/v1/health.proto": "health.proto", "grpc/reflection/v1alpha/reflection.proto": "reflection.proto"}
for name, src in srcs.items():
    out = tempfile.mktemp()
    assert protoc.main(["protoc", "-I" + src_dir, "--descriptor_set_out=" + out, src]) == 0, src
    ref = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read()).file[0]
    ref.name = name
    for s in ref.service:
        for m in s.method:
            m.ClearField("options")
    def strip(d):
        for f in d.field:
            f.ClearField("json_name")
        for n in d.nested_type:
            strip(n)
    for d in ref.message_type:
        strip(d)
    assert MessageToDict(ref) == MessageToDict(mine[name]), "embedded descriptor of " + name + " differs from protoc's"

# 2. Against the peers' generated modules (each in its own process: both register package 'inference').
def vendor(module):
    code = ("import json; from google.protobuf import descriptor_pb2 as d; from google.protobuf.json_format import MessageToDict; "
            "import " + module + " as m; f = d.FileDescriptorProto(); m.DESCRIPTOR.CopyToProto(f)")
    deps = subprocess.run([sys.executable, "-c", code + "; print(json.dumps([MessageToDict(f)] + [MessageToDict((lambda x: (x.CopyToProto(g := d.FileDescriptorProto()), g)[1])(dep)) for dep in m.DESCRIPTOR.dependencies]))"],
                          capture_output=True, text=True, check=True)
    return json.loads(deps.stdout)

def index(fds):
    msgs, enums, services = {}, {}, {}
    def walk(prefix, m):
        full = prefix + "." + m["name"]
        msgs[full] = {f["name"]: f for f in m.get("field", [])}
        for n in m.get("nestedType", []):
            walk(full, n)
        for e in m.get("enumType", []):
            enums[full + "." + e["name"]] = {v["name"]: v["number"] for v in e["value"]}
    for fd in fds:
        pkg = "." + fd["package"]
        for m in fd.get("messageType", []):
            walk(pkg, m)
        for e in fd.get("enumType", []):
            enums[pkg + "." + e["name"]] = {v["name"]: v["number"] for v in e["value"]}
        for s in fd.get("service", []):
            services[pkg + "." + s["name"]] = {x["name"]: x for x in s["method"]}
    return msgs, enums, services

ours = index([MessageToDict(mine["inference.proto"])])
kserve = index(vendor("kserve.protocol.grpc.grpc_predict_v2_pb2"))
triton = index(vendor("tritonclient.grpc.service_pb2"))
problems = []
KEYS = ("number", "type", "label", "typeName", "oneofIndex")
for full, fields in ours[0].items():
    refs = [v[0][full] for v in (kserve, triton) if full in v[0]]
    if not refs:
        problems.append("message %s is in neither KServe's nor Triton's proto" % full)
    for ref in refs:
        for name, f in fields.items():
            if name not in ref:
                if full not in kserve[0] or name not in kserve[0][full]:
                    if not any(name in r for r in refs):
                        problems.append("%s.%s is not a field of the peers' message" % (full, name))
                continue
            for k in KEYS:
                if f.get(k) != ref[name].get(k):
                    problems.append("%s.%s: %s is %r, the peers' is %r" % (full, name, k, f.get(k), ref[name].get(k)))
for full, fields in kserve[0].items():
    if full.endswith("RepositoryModelLoadRequest") or full.endswith("RepositoryModelLoadResponse") or "RepositoryModelUnload" in full:
        continue
    for name in fields:
        if name not in ours[0].get(full, {}):
            problems.append("KServe's %s.%s is missing" % (full, name))
for full, values in ours[1].items():
    ref = triton[1].get(full)
    if ref is None:
        problems.append("enum %s is not Triton's" % full)
        continue
    for name, number in values.items():
        if ref.get(name) != number:
            problems.append("enum %s.%s = %s, Triton's is %r" % (full, name, number, ref.get(name)))
for svc, methods in ours[2].items():
    for name, m in methods.items():
        ref = kserve[2].get(svc, {}).get(name) or triton[2].get(svc, {}).get(name)
        if ref is None:
            problems.append("rpc %s/%s is neither KServe's nor Triton's" % (svc, name))
            continue
        for k in ("inputType", "outputType", "clientStreaming", "serverStreaming"):
            if m.get(k) != ref.get(k):
                problems.append("rpc %s/%s: %s is %r, the peers' is %r" % (svc, name, k, m.get(k), ref.get(k)))
for name in kserve[2][".inference.GRPCInferenceService"]:
    if name not in ours[2][".inference.GRPCInferenceService"] and not name.startswith("RepositoryModel"):
        problems.append("KServe's rpc %s is missing" % name)
for name in ("ModelConfig", "ModelStatistics", "RepositoryIndex"):
    assert name in ours[2][".inference.GRPCInferenceService"], name
assert not problems, "\n".join(problems)
print("compared", len(ours[0]), "messages,", len(ours[1]), "enums,", sum(len(m) for m in ours[2].values()), "rpcs")
print("DESCRIPTORS OK")
`;

const TRITON_SCRIPT = String.raw`
import sys
import numpy as np
import onnxruntime as ort
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

mlp_grpc, mlp_http, mlp_file, types_grpc, types_http, types_file = sys.argv[1:7]

for mod, url in ((grpcclient, mlp_grpc), (httpclient, mlp_http)):
    c = mod.InferenceServerClient(url=url)
    assert c.is_server_live() and c.is_server_ready(), "not live/ready"
    assert c.is_model_ready("mlp", "1")
    meta = c.get_model_metadata("mlp", "1", **({"as_json": True} if mod is grpcclient else {}))
    assert meta["platform"] == "onnxruntime_onnx", meta
    assert [(t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in meta["inputs"]] == [("input", "FP32", [-1, 64])], meta
    cfg = c.get_model_config("mlp", "1", **({"as_json": True} if mod is grpcclient else {}))
    cfg = cfg.get("config", cfg)
    assert int(cfg["max_batch_size"]) == 8, cfg
    assert cfg["input"][0]["data_type"] == "TYPE_FP32" and [int(d) for d in cfg["input"][0]["dims"]] == [64], cfg
    sess = ort.InferenceSession(mlp_file)
    x = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
    want = sess.run(None, {"input": x})[0]
    for binary in ((True,) if mod is grpcclient else (False, True)):
        i = mod.InferInput("input", list(x.shape), "FP32")
        i.set_data_from_numpy(x, **({} if mod is grpcclient else {"binary_data": binary}))
        o = mod.InferRequestedOutput("logits", **({} if mod is grpcclient else {"binary_data": binary}))
        res = c.infer("mlp", [i], model_version="1", outputs=[o], request_id="abc")
        got = res.as_numpy("logits")
        assert got.dtype == np.float32 and got.shape == (3, 10), (got.dtype, got.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        resp = res.get_response(**({"as_json": True} if mod is grpcclient else {}))
        assert resp["id"] == "abc", resp
    st = c.get_inference_statistics("mlp", "1", **({"as_json": True} if mod is grpcclient else {}))
    s = st["model_stats"][0]
    assert s["name"] == "mlp" and int(s["inference_count"]) >= 3 and int(s["execution_count"]) >= 1, st
    assert int(s["inference_stats"]["success"]["count"]) >= 1, st
    idx = c.get_model_repository_index(**({"as_json": True} if mod is grpcclient else {}))
    idx = idx.get("models", idx) if isinstance(idx, dict) else idx
    assert idx[0]["name"] == "mlp" and idx[0]["state"] == "READY", idx
    try:
        c.infer("nope", [i])
        raise SystemExit("expected an error for an unknown model")
    except mod.InferenceServerException as e:
        assert "unknown model 'nope'" in str(e), str(e)
        if mod is grpcclient:
            assert e.status() == "StatusCode.NOT_FOUND", e.status()

# Every datatype, through gRPC (raw contents, tritonclient's only way) and HTTP (JSON and binary).
${ALL_TYPES_FEEDS_PY}def check(res, label):
    for k in feeds:
        name = k.replace("in_", "out_")
        got = res.as_numpy(name)
        if k == "in_str":
            got = np.array([[x.decode() if isinstance(x, bytes) else x for x in row] for row in got])
            assert (got == ref[name]).all(), (label, name, got, ref[name])
        else:
            assert got.dtype == feeds[k].dtype, (label, name, got.dtype)
            assert np.array_equal(got, ref[name]), (label, name, got, ref[name])
    assert np.array_equal(res.as_numpy("sum_f32"), ref["sum_f32"]), label

g = grpcclient.InferenceServerClient(url=types_grpc)
inputs = []
for k, v in feeds.items():
    i = grpcclient.InferInput(k, list(v.shape), dtypes[k])
    i.set_data_from_numpy(v)
    inputs.append(i)
outs = [grpcclient.InferRequestedOutput(k.replace("in_", "out_")) for k in feeds] + [grpcclient.InferRequestedOutput("sum_f32")]
check(g.infer("types", inputs, outputs=outs), "grpc")
tmeta = g.get_model_metadata("types", as_json=True)
assert sorted(t["datatype"] for t in tmeta["inputs"]) == sorted(dtypes.values()), tmeta

h = httpclient.InferenceServerClient(url=types_http)
for binary in (False, True):
    hin = []
    for k, v in feeds.items():
        i = httpclient.InferInput(k, list(v.shape), dtypes[k])
        i.set_data_from_numpy(v, binary_data=binary or k == "in_f16")
        hin.append(i)
    houts = [httpclient.InferRequestedOutput(k.replace("in_", "out_"), binary_data=binary or k == "in_f16") for k in feeds] + [httpclient.InferRequestedOutput("sum_f32", binary_data=binary)]
    check(h.infer("types", hin, outputs=houts), "http binary=%s" % binary)
hcfg = h.get_model_config("types")
assert {t["name"]: t["data_type"] for t in hcfg["input"]}["in_str"] == "TYPE_STRING", hcfg
print("ALL OK")
`;

const KSERVE_SCRIPT = String.raw`
import sys, asyncio
import numpy as np
import onnxruntime as ort
from kserve import InferenceGRPCClient, InferRequest, InferInput
from kserve.protocol.infer_type import RequestedOutput

mlp_url, mlp_file, types_url, types_file = sys.argv[1:5]

async def main():
    c = InferenceGRPCClient(url=mlp_url, timeout=30)
    assert (await c.is_server_live()) and (await c.is_server_ready())
    assert await c.is_model_ready("mlp")
    # The client has no metadata call; its generated stub (KServe's grpc_predict_v2) does.
    from kserve.protocol.grpc.grpc_predict_v2_pb2 import ModelMetadataRequest
    meta = await c._client_stub.ModelMetadata(ModelMetadataRequest(name="mlp", version="1"))
    assert meta.platform == "onnxruntime_onnx" and list(meta.inputs[0].shape) == [-1, 64], meta
    x = np.random.default_rng(2).standard_normal((2, 64)).astype(np.float32)
    want = ort.InferenceSession(mlp_file).run(None, {"input": x})[0]
    # Typed contents (a Python list), then raw contents (a numpy array).
    typed = InferInput("input", [2, 64], "FP32", data=x.flatten().tolist())
    res = await c.infer(InferRequest(model_name="mlp", model_version="1", request_id="k-1", infer_inputs=[typed]))
    assert res.id == "k-1", res.id
    np.testing.assert_allclose(np.array(res.outputs[0].data, dtype=np.float32).reshape(2, 10), want, rtol=1e-5, atol=1e-6)
    raw = InferInput("input", [2, 64], "FP32")
    raw.set_data_from_numpy(x, binary_data=True)
    res = await c.infer(InferRequest(model_name="mlp", infer_inputs=[raw], request_outputs=[RequestedOutput("logits")]))
    np.testing.assert_allclose(res.outputs[0].as_numpy(), want, rtol=1e-5, atol=1e-6)
    try:
        await c.infer(InferRequest(model_name="mlp", infer_inputs=[InferInput("input", [2, 63], "FP32", data=[0.0] * 126)]))
        raise SystemExit("expected INVALID_ARGUMENT")
    except Exception as e:
        assert "dimension 1 is 63 but the model requires 64" in str(e), str(e)
    await c.close()

    t = InferenceGRPCClient(url=types_url, timeout=30)
    sess = ort.InferenceSession(types_file)
    feeds = {
        "in_bool": ("BOOL", np.array([[True, False], [False, True]])),
        "in_u8": ("UINT8", np.array([[0, 255], [1, 2]], dtype=np.uint8)),
        "in_u16": ("UINT16", np.array([[0, 65535], [1, 2]], dtype=np.uint16)),
        "in_u32": ("UINT32", np.array([[0, 4294967295], [1, 2]], dtype=np.uint32)),
        "in_u64": ("UINT64", np.array([[0, 18446744073709551615], [9007199254740993, 2]], dtype=np.uint64)),
        "in_i8": ("INT8", np.array([[-128, 127], [1, 2]], dtype=np.int8)),
        "in_i16": ("INT16", np.array([[-32768, 32767], [1, 2]], dtype=np.int16)),
        "in_i32": ("INT32", np.array([[-2147483648, 2147483647], [1, 2]], dtype=np.int32)),
        "in_i64": ("INT64", np.array([[-9223372036854775808, 9223372036854775807], [-9007199254740993, 2]], dtype=np.int64)),
        "in_f16": ("FP16", np.array([[1.5, -2], [65504, 0.1]], dtype=np.float16)),
        "in_f32": ("FP32", np.array([[1.5, -0.1], [3e38, 1e-45]], dtype=np.float32)),
        "in_f64": ("FP64", np.array([[0.1, -1e308], [5e-324, 123.456]], dtype=np.float64)),
        "in_str": ("BYTES", np.array([["a", "h\u00e9llo"], ["", "\u65e5\u672c"]], dtype=np.object_)),
    }
    ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {k: (v.astype(str) if k == "in_str" else v) for k, (_, v) in feeds.items()})))
    inputs = []
    for k, (dt, v) in feeds.items():
        i = InferInput(k, list(v.shape), dt)
        i.set_data_from_numpy(v, binary_data=True)
        inputs.append(i)
    res = await t.infer(InferRequest(model_name="types", infer_inputs=inputs))
    got = {o.name: o.as_numpy() for o in res.outputs}
    for k, (dt, v) in feeds.items():
        name = k.replace("in_", "out_")
        g = got[name]
        if dt == "BYTES":
            g = np.array([[x.decode() if isinstance(x, bytes) else x for x in row] for row in g.reshape(2, 2)])
            assert (g == ref[name]).all(), (name, g)
        else:
            assert np.array_equal(g.reshape(2, 2), ref[name]), (name, g, ref[name])
    await t.close()
    print("ALL OK")

asyncio.run(main())
`;


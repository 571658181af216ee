// The README's first quick-start command (`npm run example`): render the bundled example for the
// "local" cluster exactly as Argo CD would, take the sidecar container's arguments and environment
// from the rendered Deployment, run `modelpin serve` with them on this machine, and send one
// Open Inference Protocol (KServe V2) request. Only two things differ from the pod: the model path
// (the overlay names the copy inside the sidecar image; here it is this checkout's) and the port
// and cache directory (any free port, a temp dir).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/modelpin.js');
const example = join(root, 'plugin/examples/fraud-detector');

// 1. Render, as `modelpin render plugin/examples/fraud-detector --cluster local -o json`.
const rendered = spawnSync(process.execPath, [cli, 'render', example, '--cluster', 'local', '-o', 'json'], { encoding: 'utf8' });
if (rendered.status !== 0) fail(`render failed:\n${rendered.stderr}`);
const list = JSON.parse(rendered.stdout);
const workload = list.items.find((o) => o.kind === 'Deployment' || o.kind === 'Rollout');
const pod = workload.spec.template.spec;
const sidecar = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === 'modelpin');
console.error(`rendered ${list.items.map((o) => o.kind).join(', ')}; sidecar args: ${sidecar.args.join(' ')}\n`);

// 2. The same arguments and environment, with this checkout's model file, a free port (gRPC off:
// this example speaks REST), a temp cache.
const set = (args, flag, value) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args.with(i + 1, value) : [...args, flag, value];
};
let args = set(sidecar.args, '--uri', `file://${join(example, 'model.onnx')}`);
const cache = mkdtempSync(join(tmpdir(), 'modelpin-example-'));
args = set(set(set(set(args, '--port', '0'), '--grpc-port', '0'), '--host', '127.0.0.1'), '--cache-dir', cache);
const env = { ...process.env, ...Object.fromEntries((sidecar.env ?? []).map((e) => [e.name, e.value])) };
const server = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
const stop = () => {
  server.kill('SIGTERM');
  rmSync(cache, { recursive: true, force: true });
};

// 3. Wait for the "listening" log line, then for readiness (fetch → verify → load → warm up).
const port = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stderr });
  lines.on('line', (line) => {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      return process.stderr.write(line + '\n');
    }
    if (rec.msg === 'listening') resolve(rec.port);
    if (rec.level === 'error') process.stderr.write(line + '\n');
  });
  server.on('exit', (code) => reject(new Error(`modelpin serve exited with ${code} before listening`)));
}).catch((e) => fail(e.message));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  const r = await fetch(`${base}/v2/health/ready`).catch(() => undefined);
  if (r?.ok) break;
  if (i > 300 || server.exitCode !== null) fail('the server never became ready');
  await new Promise((r) => setTimeout(r, 50));
}

// 4. One V2 inference request: a single row of 64 features.
const body = { id: 'quickstart-1', inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000) }] };
const res = await fetch(`${base}/v2/models/${workload.metadata.name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const answer = await res.text();
console.error(`POST ${base}/v2/models/${workload.metadata.name}/infer → ${res.status}`);
console.log(answer);
stop();
process.exit(res.ok ? 0 : 1);

function fail(msg) {
  console.error(`quickstart: ${msg}`);
  if (typeof stop === 'function') stop();
  process.exit(1);
}

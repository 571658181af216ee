// No Docker engine runs here, so this test plays the Dockerfile's stages on the file system: it
// reads the Dockerfile, performs each stage's COPY instructions and runs its RUN commands with
// sh, with the image's absolute paths (/src, /opt/modelpin, /usr/local/bin, /var/cache/modelpin)
// mapped into a temp directory. Then it runs the results as the images would: the plugin image's
// `modelpin render` (through the code-cached render bundle) and the sidecar image's `modelpin serve` on
// the pruned production node_modules. It catches a file the build needs but no COPY brings, a
// broken RUN line, and a pruned dependency the sidecar still needs.
// Not covered: the base image itself and USER switches (everything runs as the test's user).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/net.js';
import { TestClient } from '../unit/sidecar/serve/grpc-support.js';
import { spawnServe } from './support/serve-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Stage {
  name: string;
  workdir: string;
  steps: Array<{ op: 'COPY'; from?: string; srcs: string[]; dest: string } | { op: 'RUN'; cmd: string }>;
}

/** The Dockerfile's stages: FROM … AS name, WORKDIR, COPY [--from=stage] srcs… dest, RUN. */
function parseDockerfile(text: string): Map<string, Stage> {
  // Join continuation lines; drop comment lines (Docker strips them inside continuations too).
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const stages = new Map<string, Stage>();
  let cur: Stage | undefined;
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1];
      if (!name) throw new Error(`unnamed stage: ${line}`);
      cur = { name, workdir: '/', steps: [] };
      stages.set(name, cur);
    } else if (cur && op === 'WORKDIR') cur.workdir = args;
    else if (cur && op === 'COPY') {
      const parts = rest.filter((p) => !p.startsWith('--') || p.startsWith('--from='));
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const paths = parts.filter((p) => !p.startsWith('--from='));
      cur.steps.push({ op: 'COPY', ...(from ? { from } : {}), srcs: paths.slice(0, -1), dest: paths.at(-1)! });
    } else if (cur && op === 'RUN') cur.steps.push({ op: 'RUN', cmd: args });
  }
  return stages;
}

let work: string;
let stages: Map<string, Stage>;
/** A stage's file system root inside the temp directory. */
const fsRoot = (stage: string) => join(work, stage);
/** Map the image's absolute paths into a stage's root. */
const mapPaths = (stage: string, s: string) => s.replace(/(^|[\s=])\/(src|opt|usr|var)\b/g, (_m, pre: string, top: string) => `${pre}${fsRoot(stage)}/${top}`);

function play(name: string, skipRun: (cmd: string) => string | undefined = () => undefined): void {
  const stage = stages.get(name)!;
  const cwd = join(fsRoot(name), stage.workdir);
  mkdirSync(cwd, { recursive: true });
  mkdirSync(join(fsRoot(name), 'usr/local/bin'), { recursive: true }); // as in the base image
  for (const step of stage.steps) {
    if (step.op === 'COPY') {
      const dest = step.dest.startsWith('/') ? join(fsRoot(name), step.dest) : join(cwd, step.dest);
      for (const src of step.srcs) {
        const from = step.from ? join(fsRoot(step.from), src) : join(root, src);
        if (!existsSync(from)) throw new Error(`stage ${name}: COPY ${step.from ? `--from=${step.from} ` : ''}${src}: no such file`);
        const target = step.dest.endsWith('/') || step.srcs.length > 1 ? join(dest, src.split('/').at(-1)!) : dest;
        mkdirSync(dirname(target), { recursive: true });
        cpSync(from, target, { recursive: true });
      }
    } else {
      const replacement = skipRun(step.cmd);
      const cmd = replacement ?? mapPaths(name, step.cmd);
      // No npm_config_onnxruntime_node_install here: the repository's .npmrc alone must keep
      // onnxruntime-node's CUDA download from running.
      const r = spawnSync('sh', ['-ec', cmd], { cwd, encoding: 'utf8', timeout: 240_000 });
      if (r.status !== 0) throw new Error(`stage ${name}: RUN ${step.cmd}\nexit ${r.status}\n${r.stderr}`);
    }
  }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'modelpin-dockerfile-'));
  stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  // `npm ci` in the build stage: link this checkout's node_modules instead of downloading again.
  play('build', (cmd) => (/^npm ci\b/.test(cmd) ? `ln -s ${join(root, 'node_modules')} node_modules` : undefined));
  play('plugin');
  // The ort stage's `npm ci --omit=dev` really runs (from the npm cache when it holds the packages).
  play('ort', (cmd) => (/^npm ci\b/.test(cmd) ? mapPaths('ort', cmd.replace(/^npm ci/, 'npm ci --prefer-offline')) : undefined));
  play('sidecar');
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = (stage: string) => ({ PATH: `${fsRoot(stage)}/usr/local/bin:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: work });

describe('Dockerfile (stages played on the file system)', () => {
  it('has the build, ort, plugin and sidecar stages', () => {
    expect([...stages.keys()]).toEqual(['build', 'ort', 'plugin', 'sidecar']);
  });

  it('plugin image: `modelpin render` runs with the render cache and prints what the bundle prints', () => {
    expect(existsSync(join(fsRoot('plugin'), 'opt/modelpin/dist/render.cjs.cache'))).toBe(true);
    const example = join(root, 'plugin/examples/fraud-detector');
    const viaImage = spawnSync('modelpin', ['render', '--cluster', 'prod-eu'], { cwd: example, env: env('plugin'), encoding: 'utf8' });
    expect(viaImage.status, viaImage.stderr).toBe(0);
    const viaBundle = spawnSync(process.execPath, [join(root, 'dist/modelpin.js'), 'render', '--cluster', 'prod-eu'], { cwd: example, encoding: 'utf8' });
    expect(viaImage.stdout).toBe(viaBundle.stdout);
    expect(viaImage.stdout).toContain('kind: Rollout');
  });

  it("sidecar image: carries the example model where the example's `local` overlay points, verified by its pin", () => {
    const example = join(root, 'plugin/examples/fraud-detector');
    const r = spawnSync('modelpin', ['render', '--cluster', 'local', '-o', 'json'], { cwd: example, env: env('plugin'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const workload = (JSON.parse(r.stdout) as { items: Array<{ kind: string; spec?: { template: { spec: { containers: Array<{ name: string; args: string[] }> } } } }> }).items.find((o) => o.kind === 'Deployment')!;
    const args = workload.spec!.template.spec.containers.find((c) => c.name === 'modelpin')!.args;
    const arg = (flag: string) => args[args.indexOf(flag) + 1]!;
    expect(arg('--uri')).toBe('file:///opt/modelpin/examples/fraud-detector/model.onnx');
    const fetched = spawnSync('modelpin', ['fetch', '--uri', mapPaths('sidecar', arg('--uri').slice('file://'.length)), '--digest', arg('--digest'), '--cache-dir', join(work, 'local-overlay-cache')], { env: env('sidecar'), encoding: 'utf8' });
    expect(fetched.status, fetched.stderr).toBe(0);
  });

  it('sidecar image: only ONNX Runtime is left in node_modules, and `modelpin serve` answers an inference over REST and gRPC', async () => {
    const nm = join(fsRoot('sidecar'), 'opt/modelpin/node_modules');
    expect(spawnSync('ls', [nm], { encoding: 'utf8' }).stdout.trim().split('\n').sort()).toEqual(['onnxruntime-common', 'onnxruntime-node']);
    expect(existsSync(join(nm, 'onnxruntime-node/bin/napi-v6/darwin'))).toBe(false);
    const digest = 'sha256:fcc98cd56907baf22ed2d6238ef832578c8cd8adbdcd2d25a697af0f2092a917';
    const model = join(root, 'plugin/examples/fraud-detector/model.onnx');
    const cache = join(fsRoot('sidecar'), 'var/cache/modelpin');
    const grpcPort = await freePort();
    const server = spawnServe(['serve', '--uri', `file://${model}`, '--digest', digest, '--name', 'fraud-detector', '--port', '0', '--grpc-port', String(grpcPort), '--host', '127.0.0.1', '--cache-dir', cache], env('sidecar'), ['modelpin']);
    try {
      const port = await server.port;
      await server.ready;
      const res = await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/infer`, {
        method: 'POST',
        body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0.5) }] }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { outputs: Array<{ shape: number[] }> }).outputs[0]!.shape).toEqual([1, 10]);
      // gRPC too: its codec and descriptors are bundled (no .proto or protobuf package in the image).
      const c = new TestClient(grpcPort);
      const g = await c.infer({ model_name: 'fraud-detector', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: new Array(64).fill(0.5) } }] });
      c.close();
      expect(g.details).toBe('');
      expect(g.body.outputs[0].shape).toEqual(['1', '10']);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

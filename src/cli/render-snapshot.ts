// Entry point of the V8 start-up snapshot that the plugin image builds for `modelpin render`
// (Dockerfile, plugin/bin/modelpin): the parser, the precompiled validators, render and the YAML
// writer are loaded and exercised once at image build time, so each Argo CD manifest generation
// starts with them ready instead of loading and compiling ~1 MB of JavaScript.
//   node --snapshot-blob dist/render.blob --build-snapshot dist/render-snapshot.cjs   # build
//   node --snapshot-blob dist/render.blob render [path] [flags]                       # run
// Anything the fast path does not handle (help, render-time resolution, which needs the network
// stack) is handed to the full CLI in a child process with the same arguments and environment.
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { NeedsFullCli, renderFastPath } from './commands/render.js';
import { DEFAULT_KUBE_VERSION } from '../render/kube-version.js';
import { renderText } from '../render/pipeline.js';

// Exercise the whole path while building the snapshot so its functions are compiled in it: an
// app beside the sidecar (native and plain sidecar layouts), a canary with analysis, an overlay.
const WARM_UP_SPEC = `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata: {name: warm-up, labels: {team: t}}
spec:
  model: {uri: s3://models/m.onnx, digest: sha256:${'0'.repeat(64)}, size: 1000, credentials: {secretName: s3}}
  serving: {image: "r/i@sha256:${'1'.repeat(64)}", batching: {maxBatchSize: 8, maxDelayMs: 2}, env: [{name: AWS_REGION, value: eu-west-1}]}
  app: {image: "r/a@sha256:${'2'.repeat(64)}", port: 9000}
  replicas: 2
  rollout:
    canary:
      steps: [{weight: 10, pause: 1m}, {weight: 50}]
      analysis: {prometheus: {address: "http://prometheus:9090"}, maxErrorRate: 0.01, maxP99LatencyMs: 250}
  clusters:
    c: {replicas: 3}
`;

async function warmUp(): Promise<void> {
  // util.parseArgs loads its implementation on first use: load it into the snapshot (~0.5 ms).
  parseArgs({ args: ['render'], allowPositionals: true });
  for (const [minor, format, cluster] of [[30, 'yaml', 'c'], [28, 'json', undefined]] as const) {
    // The snapshot leaves the `yaml` library out (test/tools/build.mjs): the warm-up spec must
    // stay inside the block-YAML subset, or this throws NeedsFullCli and the build fails here.
    await renderText(WARM_UP_SPEC, {
      file: 'warm-up.yaml',
      kubeVersion: { ...DEFAULT_KUBE_VERSION, minor },
      format,
      ...(cluster === undefined ? {} : { cluster }),
    });
  }
}

function runFullCli(args: readonly string[]): never {
  // The wrapper (plugin/bin/modelpin) names the bundle; else the blob lives in dist/ beside it.
  const blob = process.execArgv[process.execArgv.indexOf('--snapshot-blob') + 1] ?? '';
  const cli = process.env.MODELPIN_CLI ?? join(dirname(blob), 'modelpin.js');
  // Loaded only here: child_process is not snapshot-safe, and the common path never needs it.
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // argv: [node, ...user arguments]; the wrapper always passes `render` first.
  const args = process.argv.slice(process.argv[1] === 'render' ? 1 : 2);
  const rest = args[0] === 'render' ? args.slice(1) : args;
  const fallback = async (): Promise<never> => {
    throw new NeedsFullCli();
  };
  renderFastPath(rest, fallback).then(
    (handled) => {
      if (!handled) runFullCli(['render', ...rest]);
      // Every write has completed (writeFd awaits its stream fallback). Exiting here skips the
      // isolate teardown a natural exit does, which frees the whole heap first (~1-2 ms).
      process.exit();
    },
    (err: unknown) => {
      process.stderr.write(`modelpin: MODELPIN_E_INTERNAL: ${String(err)}\n`);
      process.exit(70);
    },
  );
});

// Top-level await is not available in a snapshot entry (CommonJS); the build waits for the
// event loop to drain, so the warm-up promise completes before the heap is serialized.
warmUp().catch((err: unknown) => {
  const why = err instanceof NeedsFullCli ? 'the warm-up spec left the block-YAML fast path (src/spec/block-yaml.ts)' : String(err);
  process.stderr.write(`building the render snapshot failed: ${why}\n`);
  process.exitCode = 1;
});

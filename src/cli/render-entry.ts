// The render-only bundle of the plugin image (dist/render.cjs): `modelpin render`, which Argo CD
// runs for every manifest generation. The launcher (plugin-launcher.ts) loads it with a V8 code
// cache that the image build writes after warmUp() below, so the parser, the precompiled
// validators, render and the YAML writer start compiled instead of compiling ~230 KB of
// JavaScript in every render. The `yaml` library and render-time resolution (the network stack)
// are left out of this bundle (test/tools/build.mjs): a spec or a flag that needs them makes
// render() answer false, and the launcher runs the full CLI instead.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NeedsFullCli, renderFastPath } from './commands/render.js';

// Run the whole command before the code cache is written, so that it holds every function a
// render runs (a function first called after the cache was written compiles in every render):
// an app beside the sidecar (native and plain sidecar layouts), a canary with analysis (with and
// without a PodMonitor), an overlay, a warning, both output formats, settings from flags and from
// Argo CD's environment.
// It must stay inside the block-YAML subset (src/spec/block-yaml.ts), or warmUp() throws
// NeedsFullCli and the image build fails.
const WARM_UP_SPEC = `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata: {name: warm-up, labels: {team: t}}
spec:
  model: {uri: s3://models/m.onnx, digest: sha256:${'0'.repeat(64)}, size: 1000, credentials: {secretName: s3}}
  serving: {image: "r/i:1", batching: {maxBatchSize: 8, maxDelayMs: 2}, env: [{name: AWS_REGION, value: eu-west-1}]}
  app: {image: "r/a@sha256:${'2'.repeat(64)}", port: 9000}
  replicas: 2
  rollout:
    canary:
      steps:
        - {weight: 10, pause: 1m}
        - weight: 50
      analysis: {prometheus: {address: "http://prometheus:9090", podMonitorLabels: {release: r}}, maxErrorRate: 0.01, maxP99LatencyMs: 250, minRequests: 10}
  clusters:
    c: {replicas: 3}
`;

export async function warmUp(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'modelpin-warm-up-'));
  const env = process.env.ARGOCD_APP_PARAMETERS;
  const apis = process.env.KUBE_API_VERSIONS;
  try {
    writeFileSync(join(dir, 'modelpin.yaml'), WARM_UP_SPEC);
    const discard = async (): Promise<void> => {};
    const runs: string[][] = [
      [dir, '--cluster', 'c', '--kube-version', '1.30', '--api-versions', 'v1,monitoring.coreos.com/v1/PodMonitor'],
      [dir, '-o', 'json', '--kube-version', '1.28'],
    ];
    for (const args of runs) {
      if (!(await renderFastPath(args, needsFullCli, discard))) throw new NeedsFullCli();
    }
    process.env.ARGOCD_APP_PARAMETERS = '[{"name":"cluster","string":"c"}]';
    process.env.KUBE_API_VERSIONS = 'apps/v1,apps/v1/Deployment,monitoring.coreos.com/v1,monitoring.coreos.com/v1/PodMonitor';
    if (!(await renderFastPath([dir], needsFullCli, discard))) throw new NeedsFullCli();
  } finally {
    if (env === undefined) delete process.env.ARGOCD_APP_PARAMETERS;
    else process.env.ARGOCD_APP_PARAMETERS = env;
    if (apis === undefined) delete process.env.KUBE_API_VERSIONS;
    else process.env.KUBE_API_VERSIONS = apis;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function needsFullCli(): Promise<never> {
  throw new NeedsFullCli();
}

/** `modelpin render <args>`; false when the full CLI must run it instead (nothing was written then). */
export function render(args: readonly string[]): Promise<boolean> {
  return renderFastPath(args, needsFullCli);
}

export { NeedsFullCli };

// Builds test/rollouts-eval (the Go harness that judges rendered AnalysisTemplates with Argo
// Rollouts' own code) and caches the binary under <cache>/bin/rollouts-eval-<key>, where <key>
// hashes the harness' sources, go.mod and go.sum: a changed harness or dependency gets a fresh
// build, an unchanged one none. A cold build compiles argo-rollouts, client-go and the
// Prometheus client: minutes on two cores, so .ci/run starts it in the background.
//
//   node test/tools/rollouts-eval.mjs      # build if needed; prints the binary's path
//   import { rolloutsEvalBinary } from '…/test/tools/rollouts-eval.mjs'
//
// Cache directory: MODELPIN_CI_CACHE, else ~/.cache/modelpin (as .ci/run).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HARNESS_DIR = fileURLToPath(new URL('../rollouts-eval/', import.meta.url));

/** The cache key: sha256 over each build input's name and bytes, in name order. */
export function harnessKey() {
  const h = createHash('sha256');
  const inputs = readdirSync(HARNESS_DIR)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .sort();
  for (const f of inputs) h.update(`${f}\0`).update(readFileSync(join(HARNESS_DIR, f))).update('\0');
  return h.digest('hex').slice(0, 16);
}

export function rolloutsEvalPath(env = process.env) {
  const cache = env.MODELPIN_CI_CACHE || join(homedir(), '.cache', 'modelpin');
  return join(cache, 'bin', `rollouts-eval-${harnessKey()}`);
}

/** The cached binary, built first when missing. Throws with go's output when the build fails. */
export function rolloutsEvalBinary(env = process.env) {
  const bin = rolloutsEvalPath(env);
  if (existsSync(bin)) return bin;
  mkdirSync(join(bin, '..'), { recursive: true });
  // Build beside the target and rename: a concurrent build or an interrupted one never leaves a
  // half-written binary under the final name.
  const tmp = `${bin}.tmp-${process.pid}`;
  const r = spawnSync('go', ['build', '-trimpath', '-o', tmp, '.'], { cwd: HARNESS_DIR, encoding: 'utf8', env: { ...env, GOFLAGS: '-mod=readonly' } });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`go build in ${HARNESS_DIR} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  }
  renameSync(tmp, bin);
  return bin;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(rolloutsEvalBinary());
}

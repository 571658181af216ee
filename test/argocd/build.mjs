// Builds the Argo CD harness (test/argocd/*.go against github.com/argoproj/argo-cd/v3 from the Go
// module proxy) once per content, into $MODELPIN_CI_CACHE/bin/argocd-harness-<key>/ (default
// ~/.cache/modelpin), so CI reruns and later test runs skip the build.
//   node test/argocd/build.mjs           build if needed; prints the harness path
//   node test/argocd/build.mjs --print   print the path the current sources build to (no build)
// <key> hashes go.mod, go.sum, the *.go files, this script and the Go toolchain: any change
// builds anew.
// Beside the binary, from the same argo-cd module: git-verify-wrapper.sh, which Argo CD's image
// puts on the repo-server's PATH (it runs for every checkout), and manifests/install.yaml.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// argo-cd v3.6.x declares `go 1.27.0`; the machine's Go fetches this toolchain from the module proxy.
const GOTOOLCHAIN = 'go1.27.3';
const here = fileURLToPath(new URL('.', import.meta.url));
const cacheRoot = process.env.MODELPIN_CI_CACHE || join(homedir(), '.cache/modelpin');

function key() {
  const h = createHash('sha256').update(`toolchain ${GOTOOLCHAIN}\n`);
  const files = readdirSync(here)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go') || f === 'build.mjs')
    .sort();
  for (const f of files) h.update(`${f}\0`).update(readFileSync(join(here, f))).update('\0');
  return h.digest('hex').slice(0, 16);
}

function harnessDir() {
  return join(cacheRoot, 'bin', `argocd-harness-${key()}`);
}

function build(dir) {
  const started = Date.now();
  const env = { ...process.env, GOTOOLCHAIN, GOFLAGS: '-mod=readonly -buildvcs=false' };
  mkdirSync(join(cacheRoot, 'bin'), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    execFileSync('go', ['build', '-trimpath', '-o', join(tmp, 'harness'), '.'], { cwd: here, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const argo = execFileSync('go', ['list', '-m', '-f', '{{.Dir}}', 'github.com/argoproj/argo-cd/v3'], { cwd: here, env, encoding: 'utf8' }).trim();
    copyFileSync(join(argo, 'hack/git-verify-wrapper.sh'), join(tmp, 'git-verify-wrapper.sh'));
    chmodSync(join(tmp, 'git-verify-wrapper.sh'), 0o755);
    // The same release's install manifest, for the install tests (test/integration/argocd-install.test.ts).
    copyFileSync(join(argo, 'manifests/install.yaml'), join(tmp, 'install.yaml'));
    chmodSync(join(tmp, 'install.yaml'), 0o644);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  // Builds for other sources are ~150 MB each: keep the three newest (worktrees on different
  // revisions share the cache), remove the rest.
  const builds = readdirSync(join(cacheRoot, 'bin'))
    .filter((d) => /^argocd-harness-[0-9a-f]{16}$/.test(d))
    .map((d) => ({ d: join(cacheRoot, 'bin', d), t: statSync(join(cacheRoot, 'bin', d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of builds.slice(3)) rmSync(d, { recursive: true, force: true });
  process.stderr.write(`argocd harness built in ${((Date.now() - started) / 1000).toFixed(0)} s: ${dir}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = harnessDir();
  if (!process.argv.includes('--print') && !existsSync(join(dir, 'harness'))) build(dir);
  process.stdout.write(join(dir, 'harness') + '\n');
}

// Argo CD's own code around modelpin: the harness built from test/argocd (the real
// argocd-cmp-server with plugin.yaml, and the real repo-server gRPC service called through the
// application controller's client) on a temporary git repository, with `modelpin` laid out as in
// the plugin image.
//
//   const argo = await startArgoCD({ files: {'apps/x/modelpin.yaml': '...'} });
//   const r = await argo.generate({ source: { path: 'apps/x', plugin: { name: 'modelpin' } }, appName: 'x', namespace: 'ns' });
//   r.manifests / r.error.message
//   await argo.commit({ 'README.md': 'changed' });   // a new commit on main
//   await argo.stop();
//
// Binary: env MODELPIN_ARGOCD_HARNESS, else the cached build for the current sources
// (`node test/argocd/build.mjs --print`); it is built by `node test/argocd/build.mjs` (.ci/run does).
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../..', import.meta.url));

export interface PluginSource {
  path: string;
  targetRevision?: string;
  plugin: { name: string; env?: Array<{ name: string; value: string }>; parameters?: Array<Record<string, unknown>> };
}

export interface ArgoRequest {
  source: PluginSource;
  /** As app.InstanceName() gives it: "<appns>_<name>" for apps outside Argo CD's namespace. */
  appName: string;
  /** The destination namespace ("" when the Application sets none). */
  namespace?: string;
  /** As the controller sends it: "v" + the cluster's version without vendor suffix. */
  kubeVersion?: string;
  apiVersions?: string[];
  revision?: string;
  noCache?: boolean;
}

export interface ArgoError {
  /** The gRPC status code the application controller receives. */
  code: string;
  /** err.Error() as the controller receives it; the UI shows it in the ComparisonError condition. */
  message: string;
}

export interface ArgoResponse {
  manifests?: string[];
  revision?: string;
  sourceType?: string;
  parameters?: Array<Record<string, unknown>>;
  error?: ArgoError;
}

export interface ArgoCD {
  repoURL: string;
  /** The git work tree (main) the repo-server clones. */
  repoDir: string;
  generate(req: ArgoRequest): Promise<ArgoResponse>;
  /** GetAppDetails: what the UI's parameters tab shows. */
  appDetails(req: ArgoRequest): Promise<ArgoResponse>;
  /** Writes files and commits them on main; returns the new commit SHA. */
  commit(files: Record<string, string>): string;
  /** The plugin server's log (argocd-cmp-server's and the plugin command's stderr). */
  cmpLog(): string;
  stop(): Promise<void>;
}

export function findHarness(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MODELPIN_ARGOCD_HARNESS) {
    if (!existsSync(env.MODELPIN_ARGOCD_HARNESS)) throw new Error(`MODELPIN_ARGOCD_HARNESS=${env.MODELPIN_ARGOCD_HARNESS} does not exist`);
    return env.MODELPIN_ARGOCD_HARNESS;
  }
  const path = execFileSync(process.execPath, [join(root, 'test/argocd/build.mjs'), '--print'], { encoding: 'utf8' }).trim();
  if (!existsSync(path)) {
    throw new Error(
      `the Argo CD harness for the current test/argocd sources is not built (${path}): run \`node test/argocd/build.mjs\` ` +
        '(Go from the module proxy; the first build takes minutes, .ci/run does it in the background)',
    );
  }
  return path;
}

/** The repo-server leaves its clone root 0300 and clones 0000 between operations (root ignores that; others cannot delete them). */
function makeRemovable(dir: string): void {
  chmodSync(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) makeRemovable(join(dir, e.name));
}

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=modelpin-test', '-c', 'user.email=test@modelpin.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** The plugin image's layout (Dockerfile, target plugin): dist/ under /opt/modelpin with the render cache, `modelpin` on PATH. */
function pluginImage(dir: string): string {
  const dist = join(root, 'dist');
  if (!existsSync(join(dist, 'modelpin-plugin.cjs'))) throw new Error(`${dist}/modelpin-plugin.cjs is missing: run \`npm run build\` first`);
  const opt = join(dir, 'opt/modelpin/dist');
  cpSync(dist, opt, { recursive: true });
  rmSync(join(opt, 'render.cjs.cache'), { force: true });
  for (const flag of ['--write-render-cache', '--check-render-cache']) {
    execFileSync(process.execPath, [join(opt, 'modelpin-plugin.cjs'), flag], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const bin = join(dir, 'usr/local/bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(join(opt, 'modelpin-plugin.cjs'), join(bin, 'modelpin'));
  return bin;
}

/** plugin.yaml as the install mounts it: the ConfigMap `kubectl kustomize plugin/install` builds. */
function installedPluginYaml(): string {
  const out = execFileSync('kubectl', ['kustomize', join(root, 'plugin/install')], { encoding: 'utf8' });
  const cm = parseAllDocuments(out)
    .map((d) => d.toJS() as { kind: string; data?: Record<string, string> })
    .find((o) => o.kind === 'ConfigMap' && o.data?.['plugin.yaml'] !== undefined);
  if (!cm) throw new Error('kubectl kustomize plugin/install built no ConfigMap with plugin.yaml');
  return cm.data!['plugin.yaml']!;
}

export async function startArgoCD(opts: { files: Record<string, string | Buffer> }): Promise<ArgoCD> {
  const harness = findHarness();
  // Short: unix socket paths are limited to 107 bytes.
  const work = mkdtempSync(join(tmpdir(), 'mp-argo-'));
  const repo = join(work, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  const write = (files: Record<string, string | Buffer>) => {
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(dirname(join(repo, p)), { recursive: true });
      writeFileSync(join(repo, p), content);
    }
  };
  write(opts.files);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');

  const configDir = join(work, 'config');
  mkdirSync(configDir);
  writeFileSync(join(configDir, 'plugin.yaml'), installedPluginYaml());
  const imageBin = pluginImage(join(work, 'image'));

  const child: ChildProcessWithoutNullStreams = spawn(
    harness,
    [
      'serve',
      '--repo', repo,
      '--plugin-config-dir', configDir,
      '--work', join(work, 'argocd'),
      // The image's node is on its PATH; here the node running the tests (it wrote the render cache).
      '--path-prepend', `${imageBin}:${dirname(process.execPath)}`,
      // The container environment of plugin/install/argocd-repo-server.yaml and the image.
      '--cmp-env', 'NODE_ENV=production',
      '--cmp-env', `MODELPIN_CACHE_DIR=${join(work, 'argocd/cmp-tmp/modelpin-cache')}`,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const lines = createInterface({ input: child.stdout });
  const pending = new Map<number, (r: ArgoResponse) => void>();
  let ready: (v: { repoURL: string }) => void;
  let failed: (e: Error) => void;
  const started = new Promise<{ repoURL: string }>((res, rej) => ((ready = res), (failed = rej)));
  lines.on('line', (line) => {
    const msg = JSON.parse(line) as ArgoResponse & { id?: number; ready?: boolean; repoURL?: string };
    if (msg.ready) return ready({ repoURL: msg.repoURL! });
    const resolve = pending.get(msg.id!);
    pending.delete(msg.id!);
    resolve?.(msg);
  });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  child.on('exit', (code, signal) => {
    const err = new Error(`the Argo CD harness exited (${code ?? signal}); its stderr:\n${stderr}`);
    failed(err);
    for (const p of pending.values()) p({ error: { code: 'HarnessExited', message: err.message } });
    pending.clear();
  });
  const { repoURL } = await started;

  let nextId = 1;
  const call = (op: string, req: ArgoRequest) =>
    new Promise<ArgoResponse>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.stdin.write(JSON.stringify({ id, op, ...req }) + '\n');
    });

  return {
    repoURL,
    repoDir: repo,
    generate: (req) => call('generate', req),
    appDetails: (req) => call('appDetails', req),
    commit(files) {
      write(files);
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', 'change');
      return git(repo, 'rev-parse', 'HEAD');
    },
    cmpLog: () => {
      const f = join(work, 'argocd/cmp-server.log');
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      makeRemovable(work);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

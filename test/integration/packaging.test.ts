// The published package works on its own: `npm pack`, install the tarball with production
// dependencies only into an empty directory, and render the bundled example with the installed
// `modelpin` bin. Catches bundling gaps (a module esbuild left external, a file missing from
// package.json "files") that tests running from the source tree cannot see.
// Needs the npm cache to hold the dependencies (they were installed for development); no network
// is required with --prefer-offline when they are.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
let work: string;
let tarball: string;
let files: string[];

const npmEnv = {
  ...process.env,
  // The project's .npmrc is not read in the temp dir: keep onnxruntime-node from downloading CUDA.
  npm_config_onnxruntime_node_install: 'skip',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

beforeAll(() => {
  if (!existsSync(join(root, 'dist/modelpin.js'))) throw new Error('dist/modelpin.js is missing: run `npm run build` (npm run test:integration does)');
  work = mkdtempSync(join(tmpdir(), 'modelpin-pack-'));
  // A render cache in dist/ (as tests and the bench leave one) must stay out of the package:
  // V8 takes it only from the node that wrote it.
  execFileSync(process.execPath, [join(root, 'dist/modelpin-plugin.cjs'), '--write-render-cache'], { cwd: root, stdio: 'ignore' });
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, env: npmEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const info = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"name":"modelpin-pack-test","private":true}\n');
  execFileSync('npm', ['install', '--omit=dev', '--prefer-offline', '--no-package-lock', tarball], { cwd: app, env: npmEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm package', () => {
  it('ships the bundle and the plugin definition, not the sources or tests', () => {
    expect(files).toContain('dist/modelpin.js');
    expect(files).toContain('plugin/plugin.yaml');
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);
    expect(files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
  });

  it('installs without dev dependencies', () => {
    const nm = readdirSync(join(work, 'app/node_modules'));
    expect(nm).toContain('modelpin');
    for (const dev of ['vitest', 'typescript', 'esbuild', 'kubernetes-models']) expect(nm).not.toContain(dev);
  });

  it('renders the example with the installed bin', () => {
    const bin = join(work, 'app/node_modules/.bin/modelpin');
    const r = spawnSync(bin, ['render', join(root, 'plugin/examples/fraud-detector'), '--cluster', 'local'], {
      cwd: join(work, 'app'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work },
    });
    expect(r.status, r.stderr).toBe(0);
    const kinds = parseAllDocuments(r.stdout).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds).toEqual(['ServiceAccount', 'Service', 'Deployment']);
    // Same bytes as the source tree's build.
    const local = spawnSync(process.execPath, [join(root, 'dist/modelpin.js'), 'render', join(root, 'plugin/examples/fraud-detector'), '--cluster', 'local'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work },
    });
    expect(r.stdout).toBe(local.stdout);
  });

  it("ships the plugin image's launcher and render bundle, not a render cache built for this machine's node", () => {
    expect(files).toContain('dist/modelpin-plugin.cjs');
    expect(files).toContain('dist/render.cjs');
    expect(files).not.toContain('dist/render.cjs.cache');
    // Without a cache the launcher still renders, the same bytes as the bin.
    const example = join(root, 'plugin/examples/fraud-detector');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
    const viaLauncher = spawnSync(process.execPath, [join(work, 'app/node_modules/modelpin/dist/modelpin-plugin.cjs'), 'render', example, '--cluster', 'local'], { encoding: 'utf8', env });
    const viaBin = spawnSync(join(work, 'app/node_modules/.bin/modelpin'), ['render', example, '--cluster', 'local'], { encoding: 'utf8', env });
    expect(viaLauncher.status, viaLauncher.stderr).toBe(0);
    expect(viaLauncher.stdout).toBe(viaBin.stdout);
  });
});

// Runs a benchmark script written in TypeScript (Node 20 cannot run .ts directly):
//   npm run build && npm run bench -- <render|fetch|serve|grpc>
// Bundles test/bench/<name>.ts with esbuild (npm packages stay external, resolved from
// node_modules) and runs it with this node from the repository root, passing env through.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const name = process.argv[2];
const src = name && join(root, 'test/bench', `${name}.ts`);
if (!src || !existsSync(src)) {
  console.error('usage: npm run bench -- <render|fetch|serve|grpc|hardening>');
  process.exit(2);
}
if (!existsSync(join(root, 'dist/modelpin.js'))) {
  console.error('dist/modelpin.js is missing: run `npm run build` first');
  process.exit(1);
}
const outdir = join(root, 'node_modules/.cache/modelpin');
mkdirSync(outdir, { recursive: true });
const out = join(outdir, `bench-${name}.mjs`);
await esbuild.build({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out, logLevel: 'warning' });
const r = spawnSync(process.execPath, [out, ...process.argv.slice(3)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);

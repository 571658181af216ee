// Start-up cost of `modelpin render` against bare Node start-up, measured in the same run:
//   node dist/modelpin.js render plugin/examples/fraud-detector    vs    node -e 0
// Interleaved runs (so machine load affects both alike), RUNS of each; prints both medians and
// the ratio. Target: ratio ≤ 1.5. Run from the repository root (Node 20 cannot run .ts directly):
//   npm run build && npx esbuild test/bench/render.ts --platform=node --format=esm \
//     --outfile=/tmp/bench-render.mjs && node /tmp/bench-render.mjs
// Env RUNS=<n> (default 30, at least 20); MODELPIN_BENCH_CLI=<path> benchmarks another bundle.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root: the nearest directory up from cwd whose package.json is modelpin's. */
function findRoot(): string {
  let dir = process.cwd();
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'modelpin') return dir;
    const up = join(dir, '..');
    if (up === dir) throw new Error('run the benchmark from inside the modelpin repository');
    dir = up;
  }
}
const root = findRoot();
// MODELPIN_BENCH_CLI compares another build (e.g. a start-up experiment) under the same conditions.
const cli = process.env.MODELPIN_BENCH_CLI ?? join(root, 'dist/modelpin.js');
const example = join(root, 'plugin/examples/fraud-detector');
const RUNS = Math.max(20, Number(process.env.RUNS ?? 30));
const TARGET = 1.5;

if (!existsSync(cli)) {
  console.error(`${cli} is missing: run \`npm run build\` first`);
  process.exit(1);
}

function time(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const renderArgs = [cli, 'render', example];
const baselineArgs = ['-e', '0'];
// Warm the file system cache for both.
time(renderArgs);
time(baselineArgs);
const render: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < RUNS; i++) {
  if (i % 2 === 0) {
    render.push(time(renderArgs));
    baseline.push(time(baselineArgs));
  } else {
    baseline.push(time(baselineArgs));
    render.push(time(renderArgs));
  }
}
const mr = median(render);
const mb = median(baseline);
const ratio = mr / mb;
console.log(`runs each:                 ${RUNS}`);
console.log(`median node -e 0:          ${mb.toFixed(1)} ms`);
console.log(`median modelpin render:    ${mr.toFixed(1)} ms`);
console.log(`ratio render / node:       ${ratio.toFixed(2)} (target ≤ ${TARGET}) ${ratio <= TARGET ? 'OK' : 'OVER TARGET'}`);

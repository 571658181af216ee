// Start-up cost of `modelpin render` against bare Node start-up, measured in the same run:
//   dist/modelpin-plugin.cjs render plugin/examples/fraud-detector  vs  node -e 0
// (the plugin image's `modelpin`), and the npm bundle `node dist/modelpin.js render ...`.
// Interleaved runs (so machine load affects both alike), RUNS of each; prints both medians and
// the ratio. Target: ratio ≤ 1.5. Run from the repository root:
//   npm run build && npm run bench -- render
// Env RUNS=<n> (default 30, at least 20); MODELPIN_BENCH_CLI=<path> benchmarks another bundle.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../tools/repo-root.js';

const root = repoRoot();
// MODELPIN_BENCH_CLI compares another build (e.g. a start-up experiment) under the same conditions.
const cli = process.env.MODELPIN_BENCH_CLI ?? join(root, 'dist/modelpin.js');
const example = join(root, 'plugin/examples/fraud-detector');
const RUNS = Math.max(20, Number(process.env.RUNS ?? 30));
const TARGET = 1.5;

if (!existsSync(cli)) {
  console.error(`${cli} is missing: run \`npm run build\` first`);
  process.exit(1);
}

function time([cmd, ...args]: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString() ?? r.error}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// Two launchers: the npm bundle (`node dist/modelpin.js render`), and what the plugin image runs
// for `modelpin render`: dist/modelpin-plugin.cjs, started through its #! line as the image's
// /usr/local/bin/modelpin link is, with the render cache this run writes with the same node first,
// as the Dockerfile does.
const launcher = join(dirname(cli), 'modelpin-plugin.cjs');
const written = spawnSync(process.execPath, [launcher, '--write-render-cache'], { cwd: root, encoding: 'utf8' });
if (written.status !== 0) throw new Error(`writing the render cache failed: ${written.stderr}`);
// The #! line runs the `node` on PATH: make it this one.
process.env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

const cases: Array<[string, string[]]> = [
  ['node -e 0 (baseline)', [process.execPath, '-e', '0']],
  ['modelpin render (npm bundle)', [process.execPath, cli, 'render', example]],
  ['modelpin render (plugin image launcher)', [launcher, 'render', example]],
];
for (const [, args] of cases) time(args); // warm the file system cache
const samples: number[][] = cases.map(() => []);
for (let i = 0; i < RUNS; i++) {
  // Rotate the order so drifting machine load touches every case alike.
  for (let j = 0; j < cases.length; j++) {
    const k = (i + j) % cases.length;
    samples[k]!.push(time(cases[k]![1]));
  }
}
const medians = samples.map(median);
const base = medians[0]!;
console.log(`node ${process.version}, ${RUNS} interleaved runs each`);
for (let k = 0; k < cases.length; k++) {
  const ratio = medians[k]! / base;
  const verdict = k === 0 ? '' : ratio <= TARGET ? ' OK' : ' OVER TARGET';
  console.log(`${cases[k]![0].padEnd(44)} median ${medians[k]!.toFixed(1).padStart(6)} ms   ratio ${ratio.toFixed(2)} (target ≤ ${TARGET})${verdict}`);
}

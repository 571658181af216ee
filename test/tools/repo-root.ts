// Benchmarks run from a bundle in node_modules/.cache (see test/bench/run.mjs), so they find the
// repository from the working directory rather than from their own location.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The nearest directory at or above cwd whose package.json is modelpin's. */
export function repoRoot(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'modelpin') return dir;
    if (dirname(dir) === dir) throw new Error('run the benchmark from inside the modelpin repository');
  }
}

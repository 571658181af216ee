// The dependency rule from the design: plugin/ and sidecar/ import the core in src/; the core
// imports neither edge (only the composition root src/cli/ may); the edges never import each
// other. And render stays pure: nothing under src/render/ touches fs, env, clock or network.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Every module specifier a file imports (static, dynamic and type-only), resolved against the repo. */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith('.') ? relative(root, resolve(root, dirname(file), s)) : s));
}

const area = (p: string) => (p.startsWith('src/cli/') ? 'cli' : p.split('/')[0]!);

describe('layering', () => {
  const files = [...sources('src'), ...sources('plugin'), ...sources('sidecar')];

  it('finds the sources it checks', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it.each([
    ['src', ['plugin', 'sidecar', 'cli']],
    ['plugin', ['sidecar', 'cli']],
    ['sidecar', ['plugin', 'cli']],
  ])('%s/ imports none of %j', (from, forbidden) => {
    const bad = files
      .filter((f) => area(f) === from)
      .flatMap((f) => imports(f).map((i) => [f, i] as const))
      .filter(([, i]) => forbidden.includes(area(i)));
    expect(bad).toEqual([]);
  });

  it('render(spec, ctx) is pure: src/render/ imports no I/O module and reads no env or clock', () => {
    const io = /^(node:)?(fs|fs\/promises|net|http|https|child_process|os|dgram|dns|tls|worker_threads)$|^(undici|@aws-sdk\/)/;
    for (const f of sources('src/render')) {
      expect(imports(f).filter((i) => io.test(i)), f).toEqual([]);
      expect(readFileSync(join(root, f), 'utf8'), f).not.toMatch(/process\.env|Date\.now\(|new Date\(|performance\.now\(|Math\.random\(/);
    }
  });
});

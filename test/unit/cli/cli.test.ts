// The CLI as a user meets it before naming a command: the built bundle, a real process.
// `npm test` builds dist/ first; when running this file alone, run `npm run build` before.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../../dist/modelpin.js', import.meta.url));

function run(args: string[]) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

describe('bare `modelpin`', () => {
  it('prints the command list on stderr and exits 2 (usage)', () => {
    const r = run([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    for (const command of ['render', 'validate', 'schema', 'fetch', 'serve', 'lock', 'publish', 'history']) {
      expect(r.stderr).toMatch(new RegExp(`^  modelpin ${command}\\b`, 'm'));
    }
    expect(r.stderr).toMatch(/MODELPIN_E_USAGE: Name a command; see the list above\.\n$/);
  });

  it('an unknown command still gets a short usage error, not the whole list', () => {
    const r = run(['rendr']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/MODELPIN_E_USAGE/);
    expect(r.stderr).not.toMatch(/^  modelpin publish/m);
  });
});

// .ci/run is what CI runs on a clean machine; a shell syntax error there fails every test at once
// (a merge once dropped a closing brace). bash -n parses it without running anything.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('.ci/run', () => {
  it('is valid bash', () => {
    const r = spawnSync('bash', ['-n', fileURLToPath(new URL('../../.ci/run', import.meta.url))], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

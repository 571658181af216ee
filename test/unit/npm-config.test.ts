// The repository's .npmrc as npm reads it: no install script runs (onnxruntime-node's would
// download CUDA libraries, and fails offline), and npm has nothing to warn about on every command.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('.npmrc', () => {
  it('turns install scripts off with a setting npm knows, so npm prints no config warning', () => {
    const r = spawnSync('npm', ['config', 'get', 'ignore-scripts'], { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'warn' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('true');
    expect(r.stderr).not.toMatch(/Unknown (project|user|global|env) config/);
  });
});

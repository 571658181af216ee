// `modelpin fetch`'s yargs-free fast path: well-formed invocations run the fetch (flags or
// MODELPIN_* env); anything unusual returns false so the yargs CLI reports it.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchFastPath } from '../../../../src/cli/commands/fetch.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-fastpath-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('fetchFastPath', () => {
  it('declines help, unknown flags, positionals, bad choices and missing pins', async () => {
    vi.stubEnv('MODELPIN_URI', '');
    vi.stubEnv('MODELPIN_DIGEST', '');
    expect(await fetchFastPath(['--help'])).toBe(false);
    expect(await fetchFastPath(['--uri', '/x', '--digest', 'sha256:x', '--bogus', '1'])).toBe(false);
    expect(await fetchFastPath(['extra', '--uri', '/x', '--digest', 'sha256:x'])).toBe(false);
    expect(await fetchFastPath(['--uri', '/x', '--digest', 'sha256:x', '--format', 'zip'])).toBe(false);
    expect(await fetchFastPath(['--uri', '/x', '--digest', 'sha256:x', '--size', '12kb'])).toBe(false);
    expect(await fetchFastPath(['--uri', '/x'])).toBe(false);
  });

  it('fetches and prints the path, taking flags from MODELPIN_* when not given', async () => {
    const body = randomBytes(1000);
    const file = join(dir, 'm.onnx');
    await writeFile(file, body);
    const hex = createHash('sha256').update(body).digest('hex');
    vi.stubEnv('MODELPIN_CACHE_DIR', join(dir, 'cache'));
    vi.stubEnv('MODELPIN_DIGEST', `sha256:${hex}`);
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await fetchFastPath(['--uri', file, '--log-level', 'error'])).toBe(true);
    expect(out).toEqual([`${join(dir, 'cache', 'sha256', hex)}\n`]);
  });

  it('without --cache-dir or MODELPIN_CACHE_DIR uses the user cache dir, never /var/cache (#12.8)', async () => {
    const body = randomBytes(500);
    const file = join(dir, 'n.onnx');
    await writeFile(file, body);
    const hex = createHash('sha256').update(body).digest('hex');
    vi.stubEnv('MODELPIN_CACHE_DIR', '');
    vi.stubEnv('XDG_CACHE_HOME', join(dir, 'xdg'));
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await fetchFastPath(['--uri', file, '--digest', `sha256:${hex}`, '--log-level', 'error'])).toBe(true);
    expect(out).toEqual([`${join(dir, 'xdg', 'modelpin', 'sha256', hex)}\n`]);
  });
});

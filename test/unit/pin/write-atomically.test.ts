import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAtomically } from '../../../src/cli/pin/lock.js';
import { ModelpinError } from '../../../src/errors.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('writeAtomically', () => {
  it('replaces the file and leaves no temp file behind', async () => {
    dir = mkdtempSync(join(tmpdir(), 'modelpin-write-'));
    const f = join(dir, 'modelpin.yaml');
    writeFileSync(f, 'old\n');
    await writeAtomically(f, 'new\n');
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect(readdirSync(dir)).toEqual(['modelpin.yaml']);
  });

  it('a write that cannot happen is a user error naming the file, and changes nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'modelpin-write-'));
    // A directory where the spec should be: the final rename fails (root ignores permission bits).
    const target = join(dir, 'modelpin.yaml');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    const err = await writeAtomically(target, 'new\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelpinError);
    expect((err as ModelpinError).code).toBe('MODELPIN_E_SPEC_WRITE');
    expect((err as ModelpinError).message).toContain(target);
    expect(readdirSync(dir)).toEqual(['modelpin.yaml']);
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
  });
});

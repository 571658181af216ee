// readSpecFile: file or directory, and the refusals, against a real temporary directory.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSpecFile } from '../../../src/cli/spec-file.js';

const dir = mkdtempSync(join(tmpdir(), 'modelpin-spec-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readSpecFile', () => {
  it('reads a file by path', async () => {
    const f = join(dir, 'custom.yaml');
    writeFileSync(f, 'a: 1\n');
    expect(await readSpecFile(f)).toEqual({ file: f, text: 'a: 1\n' });
  });

  it('finds modelpin.yaml, then modelpin.yml, in a directory', async () => {
    const d1 = join(dir, 'yml');
    mkdirSync(d1);
    writeFileSync(join(d1, 'modelpin.yml'), 'b: 2\n');
    expect(await readSpecFile(d1)).toEqual({ file: join(d1, 'modelpin.yml'), text: 'b: 2\n' });
    writeFileSync(join(d1, 'modelpin.yaml'), 'c: 3\n');
    expect((await readSpecFile(d1)).file).toBe(join(d1, 'modelpin.yaml'));
  });

  it('a missing path or a directory without a spec → MODELPIN_E_SPEC_NOT_FOUND with a hint', async () => {
    await expect(readSpecFile(join(dir, 'nope.yaml'))).rejects.toMatchObject({ code: 'MODELPIN_E_SPEC_NOT_FOUND', problems: [expect.objectContaining({ hint: expect.stringContaining('modelpin.yaml') })] });
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(readSpecFile(empty)).rejects.toMatchObject({ code: 'MODELPIN_E_SPEC_NOT_FOUND', message: expect.stringContaining('no modelpin.yaml or modelpin.yml') });
  });

  it('under Argo CD a missing spec is named by its path in the repository (ARGOCD_APP_SOURCE_PATH), not "."', async () => {
    const empty = join(dir, 'app-without-spec');
    mkdirSync(empty);
    const cwd = process.cwd();
    process.chdir(empty); // Argo CD runs the command in <extracted repo>/<app path> with no argument
    try {
      const e = await readSpecFile('.', { sourcePath: 'apps/fraud' }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'MODELPIN_E_SPEC_NOT_FOUND', problems: [expect.objectContaining({ file: 'apps/fraud' })] });
      expect((e as Error).message).toBe('the Application\'s source path "apps/fraud" has no modelpin.yaml or modelpin.yml (ARGOCD_APP_SOURCE_PATH)');
      expect((e as { problems: { hint: string }[] }).problems[0]!.hint).toContain('apps/fraud/');
      const root = await readSpecFile('.', { sourcePath: '' }).catch((x: unknown) => x);
      expect((root as Error).message).toContain('"." (the repository root)');
      const sub = await readSpecFile('sub', { sourcePath: 'apps/fraud/' }).catch((x: unknown) => x);
      expect((sub as Error).message).toBe('the path "apps/fraud/sub" does not exist (ARGOCD_APP_SOURCE_PATH is "apps/fraud/")');
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses a file over 1 MiB', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x20));
    await expect(readSpecFile(big)).rejects.toMatchObject({ code: 'MODELPIN_E_SPEC_TOO_LARGE' });
    const edge = join(dir, 'edge.yaml');
    writeFileSync(edge, Buffer.alloc(1024 * 1024, 0x20));
    expect((await readSpecFile(edge)).text.length).toBe(1024 * 1024);
  });
});

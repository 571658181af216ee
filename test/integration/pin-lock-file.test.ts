// modelpin lock on file:// artifacts (no servers): pins, repairs a malformed digest, is idempotent,
// detects a changed artifact with --check, keeps the file mode, and leaves the spec untouched on error.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/pin-cli.js';

let dir: string;
const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const spec = (uri: string, digestLine = '') => `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: demo  # demo app
spec:
  model:
    uri: ${uri}
${digestLine}    format: onnx   # single file
  serving:
    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-lockfile-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('modelpin lock (file://)', () => {
  it('pins, keeps layout and mode, is idempotent, and --check notices a changed artifact', async () => {
    const model = join(dir, 'm.onnx');
    await writeFile(model, 'v1');
    const file = join(dir, 'modelpin.yaml');
    const text = spec(`file://${model}`);
    await writeFile(file, text);
    await chmod(file, 0o640);
    const r = await runCli(['lock', dir]);
    expect(r.stderr).toBe('');
    const locked = await readFile(file, 'utf8');
    expect(locked).toBe(text.replace('    format: onnx', `    digest: ${sha('v1')}\n    size: 2\n    format: onnx`));
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect((await runCli(['lock', dir])).stdout).toMatch(/up to date/);
    expect(await readFile(file, 'utf8')).toBe(locked);

    await writeFile(model, 'v2!');
    const check = await runCli(['lock', dir, '--check']);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`spec.model.digest: ${sha('v1')} -> ${sha('v2!')}`);
    expect(check.stderr).toContain('spec.model.size: 2 -> 3');
    expect(await readFile(file, 'utf8')).toBe(locked);
  });

  it('repairs a malformed digest (what the digest error tells users to do)', async () => {
    const model = join(dir, 'r.onnx');
    await writeFile(model, 'repair');
    const file = join(dir, 'repair.yaml');
    await writeFile(file, spec(`file://${model}`, `    digest: ${sha('repair').slice(7)}\n`));
    const r = await runCli(['lock', file]);
    expect(r.stderr).toBe('');
    expect(await readFile(file, 'utf8')).toContain(`    digest: ${sha('repair')}\n    size: 6\n`);
  });

  it('leaves the spec untouched when the artifact is missing', async () => {
    const file = join(dir, 'missing.yaml');
    const text = spec(`file://${join(dir, 'nope.onnx')}`);
    await writeFile(file, text);
    const r = await runCli(['lock', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MODELPIN_E_FETCH_NOT_FOUND/);
    expect(await readFile(file, 'utf8')).toBe(text);
  });
});

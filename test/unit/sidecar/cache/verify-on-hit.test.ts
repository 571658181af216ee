// Nothing unverified from the cache: by default every start hashes what it hands on. A flipped
// byte in sha256/<hex> or in an extracted file is found, logged, evicted and fixed; with
// readModel the caller gets the very buffer that was hashed (an ArrayBuffer of the model's size).
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchArtifact, type FetchOptions } from '../../../../sidecar/fetch/index.js';
import { createLogger } from '../../../../sidecar/log.js';
import { mlpModel } from '../../../fixtures/onnx/models.js';
import { tarOf } from '../../../tools/tar-of.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-verify-hit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function flip(path: string, at = 0): Promise<void> {
  const b = await readFile(path);
  b[at] = b[at]! ^ 0x01;
  await chmod(path, 0o644);
  await writeFile(path, b);
}

function logged() {
  const lines: { level: string; msg: string; reason?: string }[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(JSON.parse(l) as { level: string; msg: string }) }) };
}

describe('format onnx with readModel', () => {
  async function setup() {
    const body = Buffer.from(mlpModel());
    const file = join(dir, `m${++n}.onnx`);
    await writeFile(file, body);
    const opts: FetchOptions = { uri: file, digest: sha(body), cacheDir: join(dir, `c${n}`), progress: false, env: {}, readModel: true };
    return { body, file, opts };
  }

  it('hands on the hashed bytes in an ArrayBuffer of exactly the model, fresh and from the cache', async () => {
    const { body, opts } = await setup();
    const fresh = await fetchArtifact(opts);
    expect(fresh.cached).toBe(false);
    // A plain buffer of the model's size: a worker takes it by transfer, ONNX Runtime takes it as is.
    expect(fresh.modelBytes?.buffer).toBeInstanceOf(ArrayBuffer);
    expect(fresh.modelBytes?.buffer.byteLength).toBe(body.length);
    expect(Buffer.from(fresh.modelBytes!).equals(body)).toBe(true);
    const hit = await fetchArtifact(opts);
    expect(hit.cached).toBe(true);
    expect(hit.modelBytes?.buffer).toBeInstanceOf(ArrayBuffer);
    expect(hit.modelBytes?.buffer.byteLength).toBe(body.length);
    expect(Buffer.from(hit.modelBytes!).equals(body)).toBe(true);
    const session = await ort.InferenceSession.create(hit.modelBytes!);
    expect(session.inputNames.length).toBeGreaterThan(0);
    await session.release();
  });

  it('a flipped byte in the cached blob: warned, evicted, fetched again, fresh bytes handed on', async () => {
    const { body, opts } = await setup();
    const first = await fetchArtifact(opts);
    await flip(first.path, 100);
    const { lines, log } = logged();
    const r = await fetchArtifact({ ...opts, log });
    expect(r.cached).toBe(false);
    expect(Buffer.from(r.modelBytes!).equals(body)).toBe(true);
    expect((await readFile(r.path)).equals(body)).toBe(true);
    expect(lines.find((l) => l.msg.startsWith('evicting a corrupt cache entry'))).toMatchObject({ level: 'warn', reason: expect.stringContaining('hashes to sha256:') });
  });

  it('a corrupted blob whose source is gone fails; the wrong bytes are never handed on', async () => {
    const { file, opts } = await setup();
    const first = await fetchArtifact(opts);
    await flip(first.path);
    await rm(file);
    await expect(fetchArtifact(opts)).rejects.toMatchObject({ code: 'MODELPIN_E_FETCH_NOT_FOUND' });
  });

  it('without readModel (modelpin fetch), the file is re-hashed on a hit and fixed', async () => {
    const { body, opts } = await setup();
    const { readModel: _r, ...plain } = opts;
    const first = await fetchArtifact(plain);
    expect(first.modelBytes).toBeUndefined();
    await flip(first.path, body.length - 1);
    const r = await fetchArtifact(plain);
    expect(r.cached).toBe(false);
    expect((await readFile(r.path)).equals(body)).toBe(true);
  });

  it('MODELPIN_CACHE_VERIFY=size: the opt-out reads the bytes without hashing them', async () => {
    const { opts } = await setup();
    const first = await fetchArtifact(opts);
    await flip(first.path);
    const r = await fetchArtifact({ ...opts, env: { MODELPIN_CACHE_VERIFY: 'size' } });
    expect(r.cached).toBe(true);
    expect(Buffer.from(r.modelBytes!).equals(await readFile(first.path))).toBe(true);
  });
});

describe('format tar: the extracted tree is compared with the verified archive on every start', () => {
  const weights = randomBytes(300_000);
  const model = Buffer.from(mlpModel());
  const archive = tarOf([
    { path: 'm', type: 'Directory' },
    { path: 'm/model.onnx', body: model },
    { path: 'm/weights.bin', body: weights },
    { path: 'm/alias.bin', type: 'Link', linkpath: 'm/weights.bin' },
    { path: 'model.onnx', type: 'SymbolicLink', linkpath: 'm/model.onnx' },
  ]);

  async function setup() {
    const file = join(dir, `a${++n}.tar`);
    await writeFile(file, archive);
    const opts: FetchOptions = { uri: file, digest: sha(archive), format: 'tar', cacheDir: join(dir, `t${n}`), progress: false, env: {} };
    const first = await fetchArtifact(opts);
    return { file, opts, tree: first.path };
  }

  async function expectFixed(opts: FetchOptions, tree: string, reason: RegExp) {
    const { lines, log } = logged();
    const r = await fetchArtifact({ ...opts, log });
    expect(r.path).toBe(tree);
    expect(lines.find((l) => l.level === 'warn')).toMatchObject({ msg: expect.stringMatching(/extracting it again|evicting/), reason: expect.stringMatching(reason) });
    expect((await readFile(join(tree, 'm/weights.bin'))).equals(weights)).toBe(true);
    expect((await readFile(join(tree, 'model.onnx'))).equals(model)).toBe(true);
    // And the start after that finds nothing to fix.
    const again = logged();
    await fetchArtifact({ ...opts, log: again.log });
    expect(again.lines.filter((l) => l.level === 'warn')).toEqual([]);
    return r;
  }

  it('an intact tree is a hit with no warning', async () => {
    const { opts } = await setup();
    const { lines, log } = logged();
    const r = await fetchArtifact({ ...opts, log });
    expect(r.cached).toBe(true);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('a flipped byte in an extracted file', async () => {
    const { opts, tree } = await setup();
    await flip(join(tree, 'm/weights.bin'), 123_456);
    const r = await expectFixed(opts, tree, /weights\.bin" differs/);
    expect(r.cached).toBe(true); // the blob was fine: re-extracted, not re-downloaded
  });

  it('an extra file in the tree', async () => {
    const { opts, tree } = await setup();
    await writeFile(join(tree, 'm/model.onnx_data'), 'planted');
    await expectFixed(opts, tree, /model\.onnx_data" is not in the archive/);
  });

  it('a file replaced by a symlink to outside', async () => {
    const { opts, tree } = await setup();
    await unlink(join(tree, 'm/weights.bin'));
    await symlink('/etc/passwd', join(tree, 'm/weights.bin'));
    await expectFixed(opts, tree, /no longer a regular file/);
  });

  it('a symlink retargeted', async () => {
    const { opts, tree } = await setup();
    await unlink(join(tree, 'model.onnx'));
    await symlink('m/weights.bin', join(tree, 'model.onnx'));
    await expectFixed(opts, tree, /points elsewhere/);
  });

  it('a hard link that no longer shares its target', async () => {
    const { opts, tree } = await setup();
    await unlink(join(tree, 'm/alias.bin'));
    await writeFile(join(tree, 'm/alias.bin'), weights);
    await expectFixed(opts, tree, /no longer shares/);
  });

  it('a missing file', async () => {
    const { opts, tree } = await setup();
    await unlink(join(tree, 'm/model.onnx'));
    await expectFixed(opts, tree, /is missing/);
  });

  it('a flipped byte in the archive blob: both evicted, downloaded and extracted again', async () => {
    const { opts, tree } = await setup();
    await flip(join(opts.cacheDir, 'sha256', opts.digest.slice(7)), 700);
    const r = await expectFixed(opts, tree, /hashes to sha256:/);
    expect(r.cached).toBe(false);
  });

  it('MODELPIN_CACHE_VERIFY=size trusts the tree (the documented opt-out)', async () => {
    const { opts, tree } = await setup();
    await flip(join(tree, 'm/weights.bin'));
    const r = await fetchArtifact({ ...opts, env: { MODELPIN_CACHE_VERIFY: 'size' } });
    expect(r.cached).toBe(true);
    expect((await readFile(join(tree, 'm/weights.bin'))).equals(weights)).toBe(false);
  });
});

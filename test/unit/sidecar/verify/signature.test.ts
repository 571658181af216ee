// Detached signatures produced exactly like `cosign sign-blob --key`: base64 of a DER ECDSA P-256
// signature over SHA-256 of the blob, or base64 of the raw 64-byte Ed25519 signature.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSignatureUri, fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { decodeSignature, loadPublicKey } from '../../../../sidecar/verify/signature.js';
import { parseArtifactUri } from '../../../../src/artifact-uri.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelpin-sig-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** What `cosign sign-blob --key` writes for each key type. */
function cosignSign(kind: 'ecdsa' | 'ed25519', blob: Buffer, key: KeyObject): string {
  const sig = kind === 'ecdsa' ? sign('sha256', blob, { key, dsaEncoding: 'der' }) : sign(null, blob, key);
  return sig.toString('base64') + '\n';
}

function keys(kind: 'ecdsa' | 'ed25519') {
  return kind === 'ecdsa' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('ed25519');
}

async function setup(kind: 'ecdsa' | 'ed25519') {
  const base = join(dir, `case-${++n}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(base));
  const blob = randomBytes(100_000);
  const { publicKey, privateKey } = keys(kind);
  const artifact = join(base, 'model.onnx');
  await writeFile(artifact, blob);
  const pub = join(base, 'cosign.pub');
  await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { base, blob, artifact, pub, privateKey, cacheDir: join(base, 'cache') };
}

for (const kind of ['ecdsa', 'ed25519'] as const) {
  describe(`signature check (${kind === 'ecdsa' ? 'ECDSA P-256' : 'Ed25519'})`, () => {
    it('accepts a good signature at the default <uri>.sig, and on reuse needs no .sig', async () => {
      const s = await setup(kind);
      await writeFile(`${s.artifact}.sig`, cosignSign(kind, s.blob, s.privateKey));
      const r = await fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, publicKeyPath: s.pub, progress: false });
      expect(r.cached).toBe(false);
      expect(await readdir(join(s.cacheDir, 'signatures'))).toHaveLength(1);
      await rm(`${s.artifact}.sig`);
      const again = await fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, publicKeyPath: s.pub, progress: false });
      expect(again.cached).toBe(true);
    });

    it('rejects a signature over other bytes, caching nothing', async () => {
      const s = await setup(kind);
      await writeFile(`${s.artifact}.sig`, cosignSign(kind, randomBytes(100), s.privateKey));
      const err = await fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, publicKeyPath: s.pub, progress: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'MODELPIN_E_SIGNATURE' });
      expect(String((err as Error).message)).toContain('does not verify');
      expect(await readdir(join(s.cacheDir, 'sha256'))).toEqual([]);
      expect(await readdir(join(s.cacheDir, 'tmp'))).toEqual([]);
    });

    it('rejects a signature made with another key', async () => {
      const s = await setup(kind);
      const other = keys(kind).privateKey;
      const sigFile = join(s.base, 'elsewhere.sig');
      await writeFile(sigFile, cosignSign(kind, s.blob, other));
      await expect(
        fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, publicKeyPath: s.pub, signatureUri: sigFile, progress: false }),
      ).rejects.toMatchObject({ code: 'MODELPIN_E_SIGNATURE' });
    });

    it('fails with MODELPIN_E_SIGNATURE when the signature is missing, before downloading', async () => {
      const s = await setup(kind);
      const err = await fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, publicKeyPath: s.pub, progress: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'MODELPIN_E_SIGNATURE' });
      expect(String((err as Error).message)).toContain('model.onnx.sig');
      expect(await readdir(join(s.cacheDir, 'sha256'))).toEqual([]);
    });

    it('checks an already-cached artifact that was never verified with this key', async () => {
      const s = await setup(kind);
      await fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, progress: false });
      await expect(fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, publicKeyPath: s.pub, progress: false })).rejects.toMatchObject({
        code: 'MODELPIN_E_SIGNATURE',
      });
      await writeFile(`${s.artifact}.sig`, cosignSign(kind, s.blob, s.privateKey));
      const r = await fetchArtifact({ uri: s.artifact, digest: sha(s.blob), cacheDir: s.cacheDir, publicKeyPath: s.pub, progress: false });
      expect(existsSync(r.path)).toBe(true);
    });
  });
}

describe('keys and signature files', () => {
  it('refuses unsupported key types and garbage', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => loadPublicKey(rsa, 'rsa.pub')).toThrow(/ECDSA P-256 and Ed25519/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => loadPublicKey(p384, 'p384.pub')).toThrow(/secp384r1/);
    expect(() => loadPublicKey('not a key', 'x.pub')).toThrow(/not a PEM public key/);
    expect(() => decodeSignature('!!!not base64!!!', 'x.sig')).toThrow(/not a base64 signature/);
    expect(decodeSignature('AQID\n', 'x.sig')).toEqual(Buffer.from([1, 2, 3]));
  });

  it('requires --public-key when --signature-uri is given', async () => {
    await expect(
      fetchArtifact({ uri: '/nonexistent', digest: sha(Buffer.from('x')), cacheDir: join(dir, 'c'), signatureUri: '/x.sig', progress: false }),
    ).rejects.toMatchObject({ code: 'MODELPIN_E_SIGNATURE' });
  });

  it('derives the default signature location per scheme', () => {
    expect(defaultSignatureUri(parseArtifactUri('s3://b1b/k/m.onnx?versionId=abc'))).toBe('s3://b1b/k/m.onnx.sig');
    expect(defaultSignatureUri(parseArtifactUri('https://h/a/m.onnx'))).toBe('https://h/a/m.onnx.sig');
    expect(defaultSignatureUri(parseArtifactUri('/abs/m.onnx'))).toBe('file:///abs/m.onnx.sig');
    expect(() => defaultSignatureUri(parseArtifactUri('models:/fraud/3'))).toThrow(/no default signature location/);
  });
});

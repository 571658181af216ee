// Detached signatures as `cosign sign-blob --key` writes them: the file holds base64 of
//  - ECDSA P-256: an ASN.1 DER signature over SHA-256 of the blob;
//  - Ed25519: the raw 64-byte signature over the blob itself (pure Ed25519, not prehashed).
// Public keys are PEM (SPKI, "-----BEGIN PUBLIC KEY-----"), as `cosign generate-key-pair` emits.
import { createHash, createPublicKey, createVerify, verify as verifyOneShot, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ModelpinError } from '../../src/errors.js';

/** Pure Ed25519 needs the whole message in memory; refuse beyond this rather than exhaust RAM. */
export const ED25519_MAX_BYTES = 2 * 1024 ** 3 - 1;

export interface PublicKeyInfo {
  key: KeyObject;
  kind: 'ecdsa-p256' | 'ed25519';
  /** First 16 hex of SHA-256 over the SPKI DER: names the key in cache markers and logs. */
  fingerprint: string;
}

export function loadPublicKey(pem: string, where: string): PublicKeyInfo {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new ModelpinError('MODELPIN_E_SIGNATURE', `${where} is not a PEM public key (${(e as Error).message})`, {
      hint: 'use the cosign.pub written by `cosign generate-key-pair` (-----BEGIN PUBLIC KEY-----)',
    });
  }
  const type = key.asymmetricKeyType;
  let kind: PublicKeyInfo['kind'];
  if (type === 'ed25519') kind = 'ed25519';
  else if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') kind = 'ecdsa-p256';
  else {
    const detail = type === 'ec' ? `ec ${key.asymmetricKeyDetails?.namedCurve ?? '?'}` : String(type);
    throw new ModelpinError('MODELPIN_E_SIGNATURE', `${where} is a ${detail} key; supported are ECDSA P-256 and Ed25519`, {
      hint: 'generate the key pair with `cosign generate-key-pair` (ECDSA P-256) or openssl genpkey -algorithm ed25519',
    });
  }
  const der = key.export({ type: 'spki', format: 'der' });
  return { key, kind, fingerprint: createHash('sha256').update(der).digest('hex').slice(0, 16) };
}

/** Decode a cosign signature file: base64 text (whitespace tolerated). */
export function decodeSignature(text: string, where: string): Buffer {
  const s = text.replace(/\s+/g, '');
  if (s === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) {
    throw new ModelpinError('MODELPIN_E_SIGNATURE', `${where} is not a base64 signature`, {
      hint: 'produce it with `cosign sign-blob --key cosign.key <artifact> --output-signature <artifact>.sig`',
    });
  }
  return Buffer.from(s, 'base64');
}

/** Verify `sig` over the file at `path`; throws MODELPIN_E_SIGNATURE when it does not verify. */
export async function verifyFileSignature(path: string, sig: Buffer, pub: PublicKeyInfo, describe: { artifact: string; signature: string }): Promise<void> {
  let ok: boolean;
  if (pub.kind === 'ecdsa-p256') {
    // Streams: SHA-256 is computed incrementally, so memory stays constant for any size.
    const v = createVerify('SHA256');
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) v.update(chunk);
    try {
      ok = v.verify({ key: pub.key, dsaEncoding: 'der' }, sig);
    } catch {
      ok = false; // malformed DER
    }
  } else {
    if (sig.length !== 64) {
      throw new ModelpinError('MODELPIN_E_SIGNATURE', `${describe.signature} holds ${sig.length} bytes; an Ed25519 signature has 64`, {
        hint: 'sign with the Ed25519 private key matching --public-key',
      });
    }
    const size = (await stat(path)).size;
    if (size > ED25519_MAX_BYTES) {
      throw new ModelpinError('MODELPIN_E_SIGNATURE', `${describe.artifact} is ${size} bytes; Ed25519 verification needs it in memory and is capped at ${ED25519_MAX_BYTES}`, {
        hint: 'sign large artifacts with an ECDSA P-256 key (cosign generate-key-pair), which verifies in a streaming pass',
      });
    }
    ok = verifyOneShot(null, await readFile(path), pub.key, sig);
  }
  if (!ok) {
    throw new ModelpinError('MODELPIN_E_SIGNATURE', `the signature ${describe.signature} does not verify ${describe.artifact} with key ${pub.fingerprint} (${pub.kind})`, {
      hint: 'the artifact or its signature was altered, or it was signed with a different key than --public-key',
    });
  }
}

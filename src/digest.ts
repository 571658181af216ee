// Digests as modelpin writes them: `sha256:<64 lowercase hex>` (the OCI content-digest form).
import { ModelpinError, type Location } from './errors.js';

export const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';
const DIGEST_RE = new RegExp(DIGEST_PATTERN);

export interface Digest {
  readonly algorithm: 'sha256';
  readonly hex: string;
}

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function parseDigest(s: string, where: Location = {}): Digest {
  if (!DIGEST_RE.test(s)) {
    const hint = /^[0-9a-fA-F]{64}$/.test(s)
      ? `prefix it with the algorithm: sha256:${s.toLowerCase()}`
      : /^sha256:[0-9a-fA-F]{64}$/.test(s)
        ? `write the hex in lowercase: ${s.toLowerCase()}`
        : 'run `modelpin lock` to compute the digest, or `sha256sum <file>` and write sha256:<hex>';
    throw new ModelpinError('MODELPIN_E_SPEC_DIGEST', `"${truncate(s)}" is not a digest of the form sha256:<64 lowercase hex>`, {
      hint,
      location: where,
    });
  }
  return Object.freeze({ algorithm: 'sha256', hex: s.slice('sha256:'.length) });
}

export function formatDigest(hex: string): string {
  return `sha256:${hex}`;
}

function truncate(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

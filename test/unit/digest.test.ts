import { describe, expect, it } from 'vitest';
import { isDigest, parseDigest } from '../../src/digest.js';
import { ModelpinError } from '../../src/errors.js';

const HEX = 'a'.repeat(64);

describe('digests', () => {
  it('accepts sha256:<64 lowercase hex>', () => {
    expect(parseDigest(`sha256:${HEX}`)).toEqual({ algorithm: 'sha256', hex: HEX });
    expect(isDigest(`sha256:${HEX}`)).toBe(true);
  });

  it.each([
    [HEX, 'prefix it with the algorithm'],
    [`sha256:${'A'.repeat(64)}`, 'lowercase'],
    ['sha256:abc', 'modelpin lock'],
    [`sha512:${HEX}`, 'modelpin lock'],
  ])('rejects %s with a hint containing %j', (s, hint) => {
    try {
      parseDigest(s, { path: 'spec.model.digest' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ModelpinError);
      const err = e as ModelpinError;
      expect(err.code).toBe('MODELPIN_E_SPEC_DIGEST');
      expect(err.problems[0]?.path).toBe('spec.model.digest');
      expect(err.problems[0]?.hint).toContain(hint);
    }
  });
});

// The warm-up ConfigMap's name suffix: FNV-1a 64 (no node:crypto on the render path).
import { describe, expect, it } from 'vitest';
import { fnv1a64 } from '../../../src/render/warmup.js';

describe('fnv1a64', () => {
  it('matches the published FNV-1a 64-bit test vectors, over UTF-8', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
    // UTF-8 bytes, not UTF-16 code units: 'é' is two bytes.
    expect(fnv1a64('é')).not.toBe(fnv1a64('\u00e9'.normalize('NFD')));
  });
});

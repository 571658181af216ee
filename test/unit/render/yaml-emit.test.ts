// The manifest emitter must give back exactly the data it was given to every YAML reader that
// matters: YAML 1.1 (sigs.k8s.io/yaml in Argo CD and kubectl reads yes/on/0755/1:30 as non-strings)
// and YAML 1.2.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { emitYaml } from '../../../src/render/yaml-emit.js';

const TRICKY_STRINGS = [
  '', ' ', 'a', 'yes', 'Yes', 'NO', 'on', 'Off', 'y', 'n', 'true', 'False', 'null', '~', '=', '<<',
  '0', '8080', '-1', '+1', '1.30', '.5', '1e3', '1E-3', '0755', '0x1F', '0o17', '0b101', '1_000', '1:30', '190:20:30',
  '2026-11-26', '2026-11-26T10:00:00Z', '.inf', '-.Inf', '.nan', '.NaN',
  '500m', '25%', '512Mi', '1.5Gi', 'v1', 'apps/v1', 'app.kubernetes.io/name', 'sha256:abc',
  'ghcr.io/x/y:1.0@sha256:' + 'a'.repeat(64), 'http://prometheus:9090', 's3://b/k?versionId=1',
  '--uri', '-', '- x', '-x', ':3000', '?', '? x', 'a: b', 'a:b', 'a #b', 'a#b', '#x', 'x:', '@x', '`x', '!x', '&a', '*a', '|', '>',
  '[a]', '{a}', 'a, b', '"q"', "'q'", 'trailing ', ' leading', 'tab\there', 'a\nb', 'a\nb\n', 'a\nb\n\n', '\nlead', 'x \ny',
  'uni ü ✓', 'line\u2028sep', 'del\u007f', 'bom\ufeff', '\u0000',
  '{{args.namespace}}', 'len(result) == 0 || isNaN(result[0]) || result[0] <= 0.01',
  'e', 'E', 'e5', 'E5', 'e-5', 'E-35', 'e-', 'e5x', 'ee5', 'e_5', 'e.5', 'x_y', 'a/b', 'a.b-c', 'nULL', 'oN', 'YeS', 'A-', 'z9',
];

function roundTrip(value: unknown): void {
  const text = emitYaml(value);
  for (const version of ['1.1', '1.2'] as const) expect(parse(text, { version }), `${version}:\n${text}`).toEqual(value);
}

describe('emitYaml', () => {
  it('round-trips every short word over letters that spell YAML words, digits and word punctuation', () => {
    // The emitter answers such words without its regular expressions: the shortcut must quote
    // everything YAML 1.1 or 1.2 would read as something other than the string.
    const alphabet = ['a', 'e', 'E', 'y', 'Y', 'n', 'N', 'o', 'O', 'f', 'l', 'u', '5', '0', '-', '.', '_', '/'];
    const words: string[] = [];
    for (const a of alphabet) {
      words.push(a);
      for (const b of alphabet) {
        words.push(a + b);
        for (const c of alphabet) words.push(a + b + c);
      }
    }
    const map = Object.fromEntries(words.map((w) => [w, w]));
    roundTrip(map);
    roundTrip({ list: words });
  });

  it.each(TRICKY_STRINGS.map((s) => [JSON.stringify(s), s]))('round-trips the string %s as a value, a key and a list item', (_name, s) => {
    roundTrip({ v: s });
    roundTrip({ [s]: 1 });
    roundTrip({ list: [s, { k: s }] });
  });

  it('keeps numbers, booleans and null as such', () => {
    roundTrip({ a: 0, b: -1.5, c: 1e21, d: true, e: false, f: null, g: 8080 });
  });

  it('writes nested mappings and sequences in block style with indented sequences', () => {
    const value = { spec: { containers: [{ name: 'a', args: ['serve', '--uri', 'x'], env: [] }, { name: 'b', resources: {} }], nested: [[1, 2], [], ['x']] } };
    roundTrip(value);
    expect(emitYaml({ spec: { containers: [{ name: 'a', args: ['serve'] }], empty: [], none: {} } })).toBe(
      'spec:\n  containers:\n    - name: a\n      args:\n        - serve\n  empty: []\n  none: {}\n',
    );
  });

  it('writes multi-line text as a literal block', () => {
    expect(emitYaml({ query: 'sum(x)\n/\nsum(y)\n' })).toBe('query: |\n  sum(x)\n  /\n  sum(y)\n');
    expect(emitYaml({ q: 'a\nb' })).toBe('q: |-\n  a\n  b\n');
    roundTrip({ q: 'a\n\nb\n\n\n' });
  });

  it('is deterministic and skips undefined fields', () => {
    const v = { b: 1, a: { z: [1, 'x'], x: undefined } };
    expect(emitYaml(v)).toBe(emitYaml(structuredClone(v)));
    expect(emitYaml(v)).toBe('b: 1\na:\n  z:\n    - 1\n    - x\n');
  });
});

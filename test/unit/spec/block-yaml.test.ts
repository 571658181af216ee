// The block-YAML fast path must agree with the `yaml` library on everything it accepts: the same
// JS value (bit for bit, -0 included), the same tree of node kinds, keys and start offsets (so
// every error points at the same line:col), and no YAML problems. What it does not handle it must
// decline. Checked on every YAML file in the repository, on generated specs and on mutations of them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBlockYaml } from '../../../src/spec/block-yaml.js';
import { loadWithYamlLibrary } from '../../../src/spec/source.js';
import { repoRoot } from '../../tools/repo-root.js';

const root = repoRoot();

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** Fails the test if the fast path accepted `text` and disagrees with the `yaml` library. */
function agree(text: string, label: string): boolean {
  const fast = parseBlockYaml(text);
  if (!fast) return false;
  const slow = loadWithYamlLibrary(text, 'x.yaml');
  expect(slow.problems, `${label}: accepted, but the yaml library reports problems\n${text}`).toEqual([]);
  expect(fast.root, `${label}: tree differs\n${text}`).toStrictEqual(slow.source!.root);
  expect(fast.value, `${label}: value differs\n${text}`).toStrictEqual(slow.source!.value);
  return true;
}

// A small seeded PRNG, so a failure reproduces.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['a', 'b', 'c', 'd', 'name', 'image', 'app.kubernetes.io/name', 'x_y', 'K9', 'maxP99LatencyMs', 'prod-eu', 'on', 'yes', 'y', 'e1', '_', 'uri', 'port'];
const ODD_KEYS = ['null', 'True', '__proto__', '-a', 'a b', '"q"', '1'];
// Mostly values specs hold; ODD are the edge cases, many of which the fast path must decline.
const COMMON = ['1', '0', '2.5', 'true', 'false', 'null', 'x', 'hello world', 'eu-west-1', '250m', '512Mi', 's3://b/k.onnx', `sha256:${'0f'.repeat(32)}`, '"quoted"', "'single'", '[a, b]', '{cpu: 500m, memory: 1Gi}', '[]', '{}', '--flag', 'http://p:9090', '[s3://b/k, "x"]', '{address: http://p:9090/x, port: 9090}'];
const ODD = [
  '1', '-1', '+1', '007', '1.5', '.5', '1e3', '1E-2', '-.5', '1.', '-0', '0', '-0.0', '99999999999999999999', '1e400', '0.1e-400',
  'true', 'False', 'TRUE', 'tRue', 'null', 'Null', '~', 'NULL', 'nUll', 'yes', 'no', 'on', 'off', 'y',
  '0x1F', '0o17', '.inf', '-.Inf', '.nan', '.x', '1_000', '12:30', 'a:b', 'http://x:9090/p', 'a#b', 'a #b', 'a  # b', 'hello world',
  `ghcr.io/x/y:1.0@sha256:${'ab'.repeat(32)}`, '250m', '512Mi', '-x', '-5x', '- x', '-', '@x', '`x', '%x', '!x', '!!str x', '&a x', '*a',
  '|', '>-', 'a: b', 'a:', '[a]', '{a: 1}', '[]', '{}', '[ ]', ',x', 'x,y', 'x]', 'x}', '?x', '? x', ':x', 'é ü', 'x\\y', 'a "b"',
  '"a b"', '"a\\nb"', '"it\'s"', "'it''s'", "''", '""', '"#x"', "'a\"b'", '"a" # c', '"a"#c', '"a" b', "'a", '"a', "'x' 'y'",
  '"null"', "'1'", '"true"', '"a: b"', '"  spaced  "', '--listen', '?x', ':x', '-', '- - x',
  '[a, b]', '{a: 1, b: [x, "y"]}', '[ ]', '{ }', '[a,b]', '[a, ]', '[a,,b]', '{a: }', '{a:1}', '{a}', '[--listen, ":3000"]',
  '{memory: 512Mi, cpu: 500m}', '[a, [b, {c: d}]]', '[a # c]', '[a]  # c', '[a]x', '{a: 1, a: 2}', '[-1, .5, ~, null, true, 0x1]',
  '[a:b]', '[? x]', '[-]', '[-x]', '[ a , b ]', "['it''s', \"q\"]", '{"a": 1}', '{a: b: c}', '[a', '{a: 1', '[a]]', '[{}]',
  '{true: 1}', '{__proto__: 1}', '[a b, c  d]', '[a#b]', '[a:]', '[a:,b]', '[a: b]', '{a: b:c}', '{a: :b}', '[:a]', '[a::b]', '{a: x:}', '[http://x:1/]',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function scalar(r: () => number): string {
  return r() < 0.75 ? pick(r, COMMON) : pick(r, ODD);
}

function genValue(r: () => number, indent: number, depth: number, lines: string[], head: string): void {
  const roll = r();
  const comment = r() < 0.15 ? '  # note' : '';
  if (depth > 3 || roll < 0.5) {
    lines.push(`${head} ${scalar(r)}${comment}`);
  } else if (roll < 0.6) {
    lines.push(`${head}${r() < 0.5 ? '' : '   '}${comment}`); // empty value
  } else if (roll < 0.8) {
    lines.push(`${head}${comment}`);
    genMap(r, indent + pick(r, [2, 2, 4, 1]), depth + 1, lines);
  } else {
    lines.push(`${head}${comment}`);
    genSeq(r, indent + pick(r, [0, 2, 2, 4]), depth + 1, lines);
  }
}

function genMap(r: () => number, indent: number, depth: number, lines: string[]): void {
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    if (r() < 0.1) lines.push(r() < 0.5 ? '' : `${' '.repeat(Math.floor(r() * 6))}# comment`);
    genValue(r, indent, depth, lines, `${' '.repeat(indent)}${r() < 0.03 ? pick(r, ODD_KEYS) : pick(r, KEYS)}:`);
  }
}

function genSeq(r: () => number, indent: number, depth: number, lines: string[]): void {
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const pad = ' '.repeat(indent);
    if (r() < 0.5) {
      lines.push(`${pad}- ${scalar(r)}`);
    } else {
      // `- key: value` then more keys in the item's column.
      const col = indent + 2 + (r() < 0.2 ? 1 : 0);
      const sub: string[] = [];
      genMap(r, col, depth + 1, sub);
      const first = sub.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'));
      sub[first] = `${pad}-${' '.repeat(col - indent - 1)}${sub[first]!.trimStart()}`;
      lines.push(...sub);
    }
  }
}

function genDoc(r: () => number): string {
  const lines: string[] = [];
  if (r() < 0.2) lines.push(r() < 0.8 ? '---' : '--- # start');
  if (r() < 0.2) lines.push('# header');
  genMap(r, 0, 0, lines);
  return lines.join('\n') + (r() < 0.9 ? '\n' : '');
}

const NOISE = [' ', ' ', '\n', '#', ':', '-', '"', "'", '[', ']', '{', '}', '&', '*', '!', '|', '>', '?', ',', '%', '@', '`', '\t', '\r', '0', 'a', '.', '\\', '~'];

function mutate(r: () => number, text: string): string {
  let t = text;
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (t.length + 1));
    const kind = r();
    if (kind < 0.4) t = t.slice(0, at) + pick(r, NOISE) + t.slice(at);
    else if (kind < 0.7) t = t.slice(0, at) + t.slice(at + 1);
    else {
      // Re-indent one line by -2..+2.
      const lines = t.split('\n');
      const i = Math.floor(r() * lines.length);
      const d = Math.floor(r() * 5) - 2;
      lines[i] = d >= 0 ? ' '.repeat(d) + lines[i]! : lines[i]!.slice(-d);
      t = lines.join('\n');
    }
  }
  return t;
}

describe('block-YAML fast path', () => {
  it('accepts every spec in the repository and agrees with the yaml library on every YAML document', () => {
    const files = [...yamlFiles(join(root, 'test')), ...yamlFiles(join(root, 'plugin'))];
    expect(files.length).toBeGreaterThan(40);
    let accepted = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // Multi-document files (rendered manifests) are declined whole; check each document too.
      const docs = [text, ...text.split(/^---$/m).filter((d) => d.trim() !== '')];
      for (const d of docs) if (agree(d, f)) accepted++;
    }
    expect(accepted).toBeGreaterThan(80);
    // The specs a user renders most must take the fast path, or render start-up silently regresses.
    for (const spec of ['plugin/examples/fraud-detector/modelpin.yaml', ...readdirSync(join(root, 'test/golden')).filter((c) => !c.includes('.')).map((c) => `test/golden/${c}/modelpin.yaml`)]) {
      expect(parseBlockYaml(readFileSync(join(root, spec), 'utf8')), spec).toBeDefined();
    }
  });

  it('agrees on 4000 generated documents and 12000 mutations of them', () => {
    const r = prng(20261126);
    let accepted = 0;
    let acceptedMutants = 0;
    for (let n = 0; n < 4000; n++) {
      const doc = genDoc(r);
      if (agree(doc, `generated #${n}`)) accepted++;
      for (let m = 0; m < 3; m++) if (agree(mutate(r, doc), `mutant of #${n}`)) acceptedMutants++;
    }
    // The generator must reach the accepting side often, or this test proves nothing.
    expect(accepted).toBeGreaterThan(1500);
    expect(acceptedMutants).toBeGreaterThan(600);
  });

  it.each([
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a block scalar', 'a: |\n  text\n'],
    ['a flow mapping across lines', 'a: {b: 1,\n  c: 2}\n'],
    ['a flow sequence across lines', 'a: [1,\n  2]\n'],
    ['a trailing comma', 'a: [1, 2,]\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['an escape in double quotes', 'a: "x\\ty"\n'],
    ['a tab', 'a:\tb\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['a byte-order mark', '\ufeffa: 1\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['a document end marker', 'a: 1\n...\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a quoted key', '"a": 1\n'],
    ['a key with a space', 'a b: 1\n'],
    ['a complex key', '? a\n: 1\n'],
    ['a boolean key', 'true: 1\n'],
    ['__proto__', '__proto__: 1\n'],
    ['a root sequence', '- a\n'],
    ['a root scalar', 'a\n'],
    ['an indented root', '  a: 1\n'],
    ['an empty document', ''],
    ['only comments', '# nothing\n'],
    ['a nested sequence on one line', 'a:\n  - - x\n'],
    ['a sequence item on the next line', 'a:\n  -\n    b: 1\n'],
    ['a second key on one line', 'a: b: c\n'],
    ['bad indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['a hex number', 'a: 0x1f\n'],
    ['.inf', 'a: .inf\n'],
    ['a reserved indicator', 'a: @x\n'],
  ])('declines %s', (_what, text) => {
    expect(parseBlockYaml(text)).toBeUndefined();
  });
});

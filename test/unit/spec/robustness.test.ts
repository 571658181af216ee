// Whatever a user writes, parseSpec answers with a spec or a ModelpinError — never a crash
// (TypeError from a check that assumed a type ajv had already rejected).
import { readdirSync, readFileSync } from 'node:fs';
import { seededRandom } from '../../fixtures/onnx/builder.js';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, parseDocument, type Node } from 'yaml';
import { CATALOG, exitCodeFor, formatError, ModelpinError } from '../../../src/errors.js';
import { renderText } from '../../../src/render/pipeline.js';
import { looksSecretName } from '../../../src/spec/credentials.js';
import { parseSpec } from '../../../src/spec/parse.js';

const full = readFileSync(new URL('../../fixtures/specs/valid/full.yaml', import.meta.url), 'utf8');
const REPLACEMENTS: unknown[] = [null, [], { a: null }, 'x', -1, 1.5, true, [{}]];

function scalarPaths(node: Node | null, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (isMap(node)) for (const p of node.items) scalarPaths(p.value as Node, [...path, String((p.key as { value: unknown }).value)], out);
  else if (isSeq(node)) node.items.forEach((n, i) => scalarPaths(n as Node, [...path, i], out));
  if (path.length > 0) out.push(path);
  return out;
}

describe('robustness', () => {
  it('every node replaced by every kind of wrong value gives a spec or a ModelpinError', () => {
    const paths = scalarPaths(parseDocument(full).contents as Node);
    expect(paths.length).toBeGreaterThan(60);
    let errors = 0;
    for (const path of paths) {
      for (const r of REPLACEMENTS) {
        const doc = parseDocument(full);
        doc.setIn(path, doc.createNode(r));
        const text = doc.toString();
        // Without a cluster every overlay is merged and checked too; staging also deletes rollout.
        for (const cluster of path[1] === 'clusters' ? [undefined, 'staging'] : [undefined]) {
          try {
            parseSpec(text, { file: 'f.yaml', ...(cluster ? { cluster } : {}) });
          } catch (e) {
            if (!(e instanceof ModelpinError)) throw new Error(`${path.join('.')} = ${JSON.stringify(r)}: ${String((e as Error).stack)}`);
            errors++;
            for (const p of e.problems) expect(p.code, JSON.stringify(p)).toMatch(/^MODELPIN_E_SPEC_/);
          }
        }
      }
    }
    expect(errors).toBeGreaterThan(paths.length); // most replacements are wrong
  });

  it('deletes of single fields never crash either', () => {
    for (const path of scalarPaths(parseDocument(full).contents as Node)) {
      const doc = parseDocument(full);
      doc.deleteIn(path);
      try {
        parseSpec(doc.toString(), { file: 'f.yaml' });
      } catch (e) {
        if (!(e instanceof ModelpinError)) throw e;
      }
    }
  });

  it('non-scalar positions in the YAML text (unknown tags) are refused cleanly', () => {
    const text = full.replace('replicas: 2', 'replicas: !custom 2');
    expect(() => parseSpec(text, { file: 'f.yaml' })).toThrow(ModelpinError);
  });
});

describe('secret-looking names', () => {
  it.each(['password', 'secretAccessKey', 'apiKey', 'token', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'MLFLOW_TRACKING_PASSWORD', 'HF_TOKEN', 'client-secret', 'PRIVATE_KEY'])('%s is secret', (n) => {
    expect(looksSecretName(n)).toBe(true);
  });
  it.each(['secretName', 'AWS_ACCESS_KEY_ID', 'TOKENIZER_PATH', 'publicKey', 'key', 'AWS_REGION', 'MLFLOW_TRACKING_URI', 'tokenFile', 'team'])('%s is not', (n) => {
    expect(looksSecretName(n)).toBe(false);
  });
  it('the substring pre-check never changes an answer (names built from secret-ish fragments)', () => {
    // The rule without the pre-check, as it stood before it was added.
    const rule = (name: string): boolean => {
      const ws = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w.toLowerCase());
      if (ws.length === 0) return false;
      if (['name', 'names', 'ref', 'file', 'path', 'dir', 'uri', 'url', 'id'].includes(ws[ws.length - 1]!)) return false;
      if (ws.some((w) => ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'credential', 'credentials'].includes(w))) return true;
      const joined = ws.join('');
      return /(apikey|accesskey|privatekey|secretkey)$/.test(joined) && !/accesskeyid$/.test(joined);
    };
    const parts = ['api', 'Key', 'KEY', 'ke', 'y', '_', '-', '.', 'pass', 'word', 'Secret', 'access', 'Id', 'token', 'Name', 'private', 'cred', 'ential', 'ü', '9'];
    let secret = 0;
    const names = ['api_ke_y', 'ACCESS_KE_Y', 'private.k-e-y', 'pa_ss_word', 'x_tok_en'];
    for (const a of parts) for (const b of parts) for (const c of parts) names.push(a + b + c);
    for (const name of names) {
      expect(looksSecretName(name), name).toBe(rule(name));
      if (rule(name)) secret++;
    }
    expect(secret).toBeGreaterThan(300);
  });
});

describe('found by the spec fuzz below', () => {
  const base = readFileSync(new URL('../../fixtures/specs/valid/minimal.yaml', import.meta.url), 'utf8');
  const TOKEN = 'tok-fuzz-4f0e9a77';
  const KEY_ID = 'AKIAZZZZFUZZSECRET01';
  function fails(text: string): { codes: string[]; output: string } {
    try {
      parseSpec(text, { file: 'f.yaml' });
    } catch (e) {
      if (!(e instanceof ModelpinError)) throw e;
      return { codes: e.problems.map((p) => p.code), output: formatError(e) };
    }
    throw new Error(`parsed:\n${text}`);
  }
  const withUri = (uri: string) => base.replace(/uri: .*/, `uri: ${uri}`);

  it('a % that is not a %-escape in an S3 key or a file path is a URI error, not a crash (URIError)', () => {
    expect(fails(withUri('s3://models/fr%ud/7/model.onnx')).codes).toEqual(['MODELPIN_E_SPEC_URI']);
    expect(fails(withUri('file:///models/100%.onnx')).codes).toEqual(['MODELPIN_E_SPEC_URI']);
  });

  it('https:./user:token@host is refused (the URL parser reads host ".", path "/user:token@host")', () => {
    const r = fails(withUri(`https:./fuzz:${TOKEN}@models.example.com/m.onnx`));
    expect(r.codes).toEqual(['MODELPIN_E_SPEC_URI']);
    expect(r.output).not.toContain(TOKEN);
  });

  it.each([
    `https://fuz#:${TOKEN}@models.example.com/m.onnx`, // the # hides the userinfo from the URL parser
    `https://fuzz:${TOKEN}|models.example.com/m.onnx`, // not a URI at all
    `h'ttps://fuzz:${TOKEN}@models.example.com/m.onnx`, // no scheme: a "plain path"
  ])('a mangled user:token@ in a URI is not repeated: %s', (uri) => {
    expect(fails(withUri(uri)).output).not.toContain(TOKEN);
  });

  it('user:token@ inside a longer string is an inline credential', () => {
    const r = fails(base.replace('  name: fraud', `  name: fraud\n  annotations: {note: "see https://fuzz:${TOKEN}@git.example.com"}`));
    expect(r.codes).toEqual(['MODELPIN_E_SPEC_INLINE_CREDENTIAL']);
    expect(r.output).not.toContain(TOKEN);
  });

  it('a key that is a whole broken line (with a key id in it) is described, never repeated, in messages and paths', () => {
    const r = fails(base.replace('  serving:', `  "{ -name: AWS_ACCESS_KEY_ID, value: ${KEY_ID} }": 1\n  serving:`));
    expect(r.codes).toContain('MODELPIN_E_SPEC_INLINE_CREDENTIAL');
    expect(r.output).not.toContain(KEY_ID);
    expect(r.output).toContain('spec[(a 57-character key, not shown)]');
    // A YAML escape makes the newline part of the key.
    const broken = fails(base.replace('  serving:', '  "{\\n  serving: {env: [{name: X, value: hunter2}]}": 1\n  serving:'));
    expect(broken.output).not.toContain('hunter2');
    expect(broken.output).toMatch(/unknown field \(a \d+-character key, not shown\)/);
  });
});

// --- Mutated specs (a bounded, seeded fuzz) ------------------------------------------------------
// The valid fixtures, the golden specs and the example, each with a secret injected (the ways a
// secret gets into a spec: an AWS key id anywhere, a literal AWS_SECRET_ACCESS_KEY env value in
// block or flow style, a password field, user:password@ in a URI), then damaged the ways a hand
// edit damages YAML: bytes flipped, lines deleted, duplicated, swapped or re-indented, stray
// brackets. Whatever comes out, validate and render must answer with documented ModelpinError
// codes, every problem located, no stack trace, and never the injected secret's text.
// Reproduce a failure with its seed: MODELPIN_FUZZ_SEED=<seed> MODELPIN_FUZZ_SPECS=<n>.
describe('mutated specs (seeded fuzz)', () => {
  const SEED = Number(process.env.MODELPIN_FUZZ_SEED ?? 20261202);
  const COUNT = Number(process.env.MODELPIN_FUZZ_SPECS ?? 2400);
  const SECRETS = {
    keyId: 'AKIAZZZZFUZZSECRET01',
    secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYFUZZSECRET',
    password: 'hunter2-fuzz-Passw0rd-7d1c',
    userinfo: 'tok-fuzz-4f0e9a77',
  };

  const CONTEXT: Record<keyof typeof SECRETS, (string | RegExp)[]> = {
    keyId: [new RegExp(`(?<![A-Z0-9])${SECRETS.keyId}(?![A-Z0-9])`)], // still a key id, not part of a longer word
    secretKey: ['AWS_SECRET_ACCESS_KEY', `value: ${SECRETS.secretKey}`],
    password: [`password: ${SECRETS.password}`],
    userinfo: [`fuzz:${SECRETS.userinfo}@`],
  };


  const root = new URL('../../../', import.meta.url);
  const bases = [
    'plugin/examples/fraud-detector/modelpin.yaml',
    'test/fixtures/specs/valid/full.yaml',
    'test/fixtures/specs/valid/minimal.yaml',
    'test/fixtures/specs/valid/unpinned-image.yaml',
    'test/fixtures/specs/valid/dir/modelpin.yaml',
    ...readdirSync(new URL('test/golden/', root), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `test/golden/${d.name}/modelpin.yaml`),
  ].map((p) => readFileSync(new URL(p, root), 'utf8'));

  /** Each base with each kind of injected secret (valid YAML; the spec checks refuse it). */
  function injected(base: string): string[] {
    const out: string[] = [];
    const edit = (f: (doc: ReturnType<typeof parseDocument>) => void) => {
      const doc = parseDocument(base);
      f(doc);
      out.push(doc.toString());
    };
    edit((d) => d.setIn(['metadata', 'annotations', 'fuzz.example.com/note'], `key ${SECRETS.keyId} here`));
    edit((d) => d.addIn(['spec', 'serving', 'env'], d.createNode({ name: 'AWS_SECRET_ACCESS_KEY', value: SECRETS.secretKey })));
    edit((d) => {
      const entry = d.createNode({ name: 'AWS_SECRET_ACCESS_KEY', value: SECRETS.secretKey });
      entry.flow = true; // `- {name: AWS_SECRET_ACCESS_KEY, value: …}`, as in the field trial
      d.addIn(['spec', 'serving', 'env'], entry);
      const creds = d.createNode({ secretName: 's3' });
      creds.flow = true;
      d.setIn(['spec', 'model', 'credentials'], creds);
    });
    edit((d) => d.setIn(['spec', 'model', 'credentials', 'password'], SECRETS.password));
    edit((d) => d.setIn(['spec', 'model', 'uri'], `https://fuzz:${SECRETS.userinfo}@models.example.com/m.onnx`));
    edit((d) => d.addIn(['spec', 'serving', 'env'], d.createNode({ name: 'AWS_ACCESS_KEY_ID', value: SECRETS.keyId })));
    return out;
  }

  const PUNCT = ['{', '}', '[', ']', ',', ':', '-', '#', '"', "'", '!', '&', '*', '|', '>', '?', '%', '@', '`', ' ', '\t', '\n', 'x', '0'];

  function mutate(text: string, next: () => number): string {
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    let lines = text.split('\n');
    const line = () => Math.floor(next() * lines.length);
    for (let n = 1 + Math.floor(next() * 3); n > 0; n--) {
      switch (Math.floor(next() * 7)) {
        case 0: { // flip one bit of one byte (ASCII stays ASCII)
          const s = lines.join('\n');
          const i = Math.floor(next() * s.length);
          const c = String.fromCharCode(s.charCodeAt(i) ^ (1 << Math.floor(next() * 7)));
          lines = (s.slice(0, i) + c + s.slice(i + 1)).split('\n');
          break;
        }
        case 1: // replace one character with YAML punctuation
        case 2: {
          const s = lines.join('\n');
          const i = Math.floor(next() * s.length);
          lines = (s.slice(0, i) + pick(PUNCT) + s.slice(i + (next() < 0.5 ? 1 : 0))).split('\n');
          break;
        }
        case 3:
          lines.splice(line(), 1);
          break;
        case 4: {
          const i = line();
          lines.splice(i, 0, lines[i]!);
          break;
        }
        case 5: {
          const i = line();
          const k = 1 + Math.floor(next() * 3);
          lines[i] = next() < 0.5 ? ' '.repeat(k) + lines[i] : lines[i]!.replace(new RegExp(`^ {1,${k}}`), '');
          break;
        }
        default: {
          const i = Math.min(line(), lines.length - 2);
          if (i >= 0) [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
        }
      }
    }
    return lines.join('\n');
  }

  it(`${COUNT} mutated specs: documented codes, located problems, no stack trace, no injected secret`, async () => {
    const seeds = bases.flatMap(injected);
    expect(seeds.length).toBeGreaterThan(60);
    const next = seededRandom(SEED);
    const codes = new Set(Object.keys(CATALOG));
    const seen = new Map<string, number>();
    for (let i = 0; i < COUNT; i++) {
      const text = mutate(seeds[Math.floor(next() * seeds.length)]!, next);
      const where = `fuzz case ${i} (MODELPIN_FUZZ_SEED=${SEED}):\n${text}`;
      const outputs: string[] = [];
      const check = (e: unknown): void => {
        if (!(e instanceof ModelpinError)) throw new Error(`${where}\nnot a ModelpinError: ${(e as Error)?.stack ?? String(e)}`);
        const text = formatError(e);
        outputs.push(text);
        expect(text, where).not.toMatch(/\n\s+at .*:\d+/);
        expect(codes.has(e.code), where).toBe(true);
        expect(exitCodeFor(e.code), where).toBe(1);
        for (const p of e.problems) {
          expect(codes.has(p.code), where).toBe(true);
          seen.set(p.code, (seen.get(p.code) ?? 0) + 1);
          // A location: file:line:col, or at least a field path.
          expect(p.file, where).toBe('f.yaml');
          expect(p.line !== undefined || (p.path !== undefined && p.path !== ''), `${where}\n${JSON.stringify(p)}`).toBe(true);
        }
      };
      try {
        const parsed = parseSpec(text, { file: 'f.yaml' }); // what `validate` runs
        outputs.push(formatError(ModelpinError.fromProblems([...parsed.warnings, { code: 'MODELPIN_E_USAGE', message: '' }])));
        for (const cluster of [undefined, ...parsed.clusters]) {
          try {
            const r = await renderText(text, { file: 'f.yaml', kubeVersion: { major: 1, minor: 30 }, ...(cluster ? { cluster } : {}) });
            outputs.push(r.output);
          } catch (e) {
            check(e);
          }
        }
      } catch (e) {
        check(e);
      }
      for (const [kind, secret] of Object.entries(SECRETS)) {
        // Checked while what makes it a secret is intact: a key id is one by its shape; the others
        // only beside their name (a mutation that turns `password: x` into `passwrd: x`, or eats
        // the @ of user:token@, leaves text nobody could tell from an ordinary value).
        if (!CONTEXT[kind as keyof typeof SECRETS].every((c) => (typeof c === 'string' ? text.includes(c) : c.test(text)))) continue;
        for (const out of outputs) expect(out.includes(secret.slice(0, 12)), `${where}\n--- leaked ${secret} in:\n${out}`).toBe(false);
      }
    }
    // The fuzz reaches every layer: YAML syntax, structure, semantics and the credential scan.
    for (const code of ['MODELPIN_E_SPEC_YAML', 'MODELPIN_E_SPEC_INVALID', 'MODELPIN_E_SPEC_UNKNOWN_FIELD', 'MODELPIN_E_SPEC_INLINE_CREDENTIAL']) {
      expect(seen.get(code) ?? 0, `${code} never produced`).toBeGreaterThan(COUNT / 100);
    }
  });
});

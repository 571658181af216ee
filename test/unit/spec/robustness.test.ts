// Whatever a user writes, parseSpec answers with a spec or a ModelpinError — never a crash
// (TypeError from a check that assumed a type ajv had already rejected).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, parseDocument, type Node } from 'yaml';
import { ModelpinError } from '../../../src/errors.js';
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

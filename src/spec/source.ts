// The YAML text as a tree we can point into: every problem is reported at the line:col of the
// node that caused it. Parsing refuses what YAML allows but a spec must not contain: several
// documents, alias bombs, duplicate keys, unknown tags.
import { LineCounter, parseAllDocuments, isAlias, isMap, isSeq, isScalar, isPair, type Document, type Node } from 'yaml';
import type { Problem } from '../errors.js';
import { MAX_SPEC_BYTES } from './schema.js';

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

/** Aliases are rare in a spec; anything beyond this is a resource-exhaustion attempt. */
export const MAX_ALIAS_COUNT = 50;

export interface Position {
  line: number;
  col: number;
}

export interface Source {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly value: unknown;
  readonly lines: LineCounter;
}

/** `spec.rollout.canary.steps[1].weight`; keys that are not identifiers are bracketed and quoted. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Parse the text, or return the problems that make it unusable (no value then). */
export function loadSource(text: string, file: string): { source?: Source; problems: Problem[] } {
  if (Buffer.byteLength(text, 'utf8') > MAX_SPEC_BYTES) {
    return {
      problems: [{
        code: 'MODELPIN_E_SPEC_TOO_LARGE',
        message: `the spec is ${Buffer.byteLength(text, 'utf8')} bytes; the limit is ${MAX_SPEC_BYTES} bytes (1 MiB)`,
        hint: 'a spec names an artifact, it does not contain one; move large content out of the spec',
        file,
      }],
    };
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const problems: Problem[] = [];
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
  // parseAllDocuments returns an EmptyStream (an array with no documents) for empty input.
  const all = Array.isArray(docs) ? docs : [docs];
  const nonEmpty = all.filter((d) => !isEmptyDoc(d));
  for (const d of all) {
    for (const e of [...d.errors, ...d.warnings]) {
      problems.push({ code: 'MODELPIN_E_SPEC_YAML', message: e.message.replace(/ at line \d+, column \d+.*$/s, ''), file, ...at(e.pos[0]), hint: yamlHint(e.code) });
    }
  }
  if (problems.length > 0) return { problems };
  if (nonEmpty.length === 0) {
    return { problems: [{ code: 'MODELPIN_E_SPEC_INVALID', message: 'the spec is empty', hint: 'start from apiVersion: modelpin.dev/v1alpha1, kind: ModelDeployment (see `modelpin schema`)', file, line: 1, col: 1 }] };
  }
  if (nonEmpty.length > 1) {
    const second = nonEmpty[1]!;
    return {
      problems: [{
        code: 'MODELPIN_E_SPEC_YAML',
        message: `the file holds ${nonEmpty.length} YAML documents; a spec is exactly one`,
        hint: 'put each ModelDeployment in its own file (or directory) and remove the extra `---` documents',
        file,
        ...at(second.range[0]),
      }],
    };
  }
  const doc = nonEmpty[0]!;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      const alias = firstAlias(doc);
      return {
        problems: [{
          code: 'MODELPIN_E_SPEC_ALIAS',
          message: `the YAML aliases expand beyond the safe limit (${MAX_ALIAS_COUNT}); refusing a possible alias bomb`,
          hint: 'write the values out instead of nesting *aliases',
          file,
          ...(alias ? at(alias) : {}),
        }],
      };
    }
    return { problems: [{ code: 'MODELPIN_E_SPEC_YAML', message: e instanceof Error ? e.message : String(e), file }] };
  }
  return { source: { file, doc, value, lines }, problems: [] };
}

function isEmptyDoc(d: Document.Parsed): boolean {
  const c = d.contents;
  return c === null || (isScalar(c) && c.value === null && (c.source === '' || c.source === undefined));
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'remove one of the two entries with the same key';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'TAG_RESOLVE_FAILED':
      return 'remove the custom !tag';
    default:
      return 'fix the YAML syntax at this position (check indentation, quotes and brackets)';
  }
}

function firstAlias(doc: Document.Parsed): number | undefined {
  let found: number | undefined;
  const walk = (n: unknown): void => {
    if (found !== undefined || !n || typeof n !== 'object') return;
    if (isAlias(n)) {
      found = n.range?.[0];
      return;
    }
    if (isMap(n) || isSeq(n)) for (const it of n.items) walk(it);
    else if (isPair(n)) {
      walk(n.key);
      walk(n.value);
    }
  };
  walk(doc.contents);
  return found;
}

export interface Found {
  /** The deepest node on the path that exists. */
  node: Node;
  /** The key node of the last pair entered (for pointing at a field name). */
  key?: Node;
  /** How many path segments were matched. */
  depth: number;
}

/** Walk `path` from `root` as far as it exists in the YAML tree. */
export function walk(root: Node | null, path: Path): Found | undefined {
  if (!root) return undefined;
  let node: Node = root;
  let key: Node | undefined;
  let depth = 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      key = pair.key as Node;
      // `key:` with no value: point at the key.
      node = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      key = undefined;
      node = item;
    } else break;
    depth++;
  }
  return { node, ...(key ? { key } : {}), depth };
}

export function nodePosition(src: Source, node: Node | undefined): Position | undefined {
  if (!node?.range) return undefined;
  const p = src.lines.linePos(node.range[0]);
  return { line: p.line, col: p.col };
}

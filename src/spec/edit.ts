// Edits a spec file in place the way a careful human would: only the changed scalars are rewritten,
// every comment, blank line, quote style and indentation elsewhere stays byte-for-byte. yaml's
// Document API locates the nodes (with source ranges); the edit itself is a text splice at those
// ranges, which is what keeps formatting that a full re-stringify would normalise away. Every result
// is re-parsed and compared with the intended data; when the splice cannot be proven right (flow
// maps, odd layouts) we fall back to Document.setIn + toString, and if even that disagrees we refuse.
import { isMap, isPair, isScalar, parseDocument, stringify, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { ModelpinError } from '../errors.js';

export type ScalarValue = string | number | boolean;

export interface SpecEdit {
  /** Key path from the document root, e.g. ['spec', 'model', 'digest']. */
  readonly path: readonly string[];
  /** New value; undefined deletes the key. */
  readonly value: ScalarValue | undefined;
  /** When the key is new: insert it right after the first of these sibling keys that exists. */
  readonly after?: readonly string[];
}

export function applySpecEdits(text: string, edits: readonly SpecEdit[], file = 'spec'): string {
  const expected = expectedData(text, edits, file);
  let out = text;
  let spliced = true;
  for (const e of edits) {
    const next = spliceEdit(out, e);
    if (next === undefined) {
      spliced = false;
      break;
    }
    out = next;
  }
  if (spliced && sameData(out, expected)) return out;
  // Fallback: the Document API rewrites the whole file (comments survive, some layout may not).
  const doc = parseDocument(text);
  for (const e of edits) {
    if (e.value === undefined) deleteAndPrune(doc, e.path);
    else doc.setIn([...e.path], e.value);
  }
  const fallback = doc.toString({ lineWidth: 0 });
  if (sameData(fallback, expected)) return fallback;
  throw new ModelpinError('MODELPIN_E_INTERNAL', `could not edit ${file} without changing other data; the file was left untouched`, {
    hint: 'set the fields by hand, and please report the spec layout that triggered this',
  });
}

/** deleteIn, then remove maps the delete left empty (an `annotations:` with nothing under it). */
function deleteAndPrune(doc: Document, path: readonly string[]): void {
  doc.deleteIn([...path]);
  for (let i = path.length - 1; i >= 1; i--) {
    const parent = doc.getIn(path.slice(0, i), true);
    if (isMap(parent) && parent.items.length === 0) doc.deleteIn(path.slice(0, i));
    else break;
  }
}

function parse(text: string, file: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    throw new ModelpinError('MODELPIN_E_SPEC_YAML', `${file} is not well-formed YAML: ${err?.message ?? 'parse error'}`);
  }
  return doc;
}

function expectedData(text: string, edits: readonly SpecEdit[], file: string): unknown {
  const doc = parse(text, file);
  for (const e of edits) {
    if (e.value === undefined) deleteAndPrune(doc, e.path);
    else doc.setIn([...e.path], e.value);
  }
  return doc.toJS();
}

function sameData(text: string, expected: unknown): boolean {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return false;
  return JSON.stringify(canonical(doc.toJS())) === JSON.stringify(canonical(expected));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  for (const item of map.items) {
    if (isPair(item) && isScalar(item.key) && String(item.key.value) === key) return item;
  }
  return undefined;
}

/** A scalar as it should appear on one line, keeping the old quote style when there was one. */
export function formatScalar(value: ScalarValue, old?: Scalar): string {
  if (typeof value !== 'string') return String(value);
  const type = old?.type === 'QUOTE_DOUBLE' || old?.type === 'QUOTE_SINGLE' ? old.type : 'PLAIN';
  const s = stringify(value, { defaultStringType: type, lineWidth: 0 }).replace(/\n$/, '');
  if (s.includes('\n')) return JSON.stringify(value); // never emit a block scalar into a one-line slot
  return s;
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

/** Position just after the line that contains pos-1 (i.e. after its newline), or text end. */
function afterLine(text: string, end: number): number {
  if (end > 0 && text[end - 1] === '\n') return end;
  const nl = text.indexOf('\n', end);
  return nl < 0 ? text.length : nl + 1;
}

/** Text splice for one edit, or undefined when the layout is not a plain block mapping. */
function spliceEdit(text: string, edit: SpecEdit): string | undefined {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  let map: YAMLMap = doc.contents;
  const { path } = edit;
  // The maps and pairs walked so far, so a delete that would empty a map removes its parent key too.
  const chain: { map: YAMLMap; pair: Pair }[] = [];
  for (let i = 0; i < path.length; i++) {
    if (map.flow) return undefined;
    const key = path[i] as string;
    const pair = findPair(map, key);
    const last = i === path.length - 1;
    if (pair === undefined) {
      if (edit.value === undefined) return text; // deleting what is not there
      return insertPairs(text, map, path.slice(i), edit.value, last ? edit.after : undefined);
    }
    chain.push({ map, pair });
    if (last) {
      if (edit.value !== undefined) return replaceValue(text, pair, edit.value);
      let level = chain.length - 1;
      while (level > 0 && chain[level]?.map.items.length === 1) level--;
      const target = chain[level];
      return target ? deletePair(text, target.map, target.pair) : undefined;
    }
    if (!isMap(pair.value)) {
      // e.g. `annotations:` with no value (null): let the fallback handle the reshaping.
      return undefined;
    }
    map = pair.value;
  }
  return undefined;
}

function replaceValue(text: string, pair: Pair, value: ScalarValue): string | undefined {
  const v = pair.value as Node | null;
  if (!isScalar(v) || !v.range) return undefined;
  if (v.type === 'BLOCK_LITERAL' || v.type === 'BLOCK_FOLDED') return undefined;
  const [start, end] = v.range;
  return text.slice(0, start) + formatScalar(value, v) + text.slice(end);
}

function childIndent(text: string, map: YAMLMap): string | undefined {
  const first = map.items.find(isPair);
  const k = first?.key as Node | undefined;
  if (!k?.range) return undefined;
  const start = k.range[0];
  const col = start - lineStart(text, start);
  const lead = text.slice(lineStart(text, start), start);
  // The key must start its own line (not `- key:` in a sequence item) for a clean insertion.
  if (lead.trim() !== '') return undefined;
  return ' '.repeat(col);
}

function pairEnd(text: string, pair: Pair): number | undefined {
  const v = pair.value as Node | null;
  const k = pair.key as Node | null;
  const end = v?.range ? v.range[1] : k?.range ? k.range[1] : undefined;
  return end === undefined ? undefined : afterLine(text, end);
}

function insertPairs(text: string, map: YAMLMap, keys: readonly string[], value: ScalarValue, after: readonly string[] | undefined): string | undefined {
  if (map.items.length === 0) return undefined;
  const indent = childIndent(text, map);
  if (indent === undefined) return undefined;
  let anchor: Pair | undefined;
  for (const a of after ?? []) {
    anchor = findPair(map, a);
    if (anchor) break;
  }
  anchor ??= map.items[map.items.length - 1] as Pair | undefined;
  if (!anchor) return undefined;
  const at = pairEnd(text, anchor);
  if (at === undefined) return undefined;
  const eol = eolOf(text);
  const lines: string[] = [];
  keys.forEach((key, depth) => {
    const pad = indent + '  '.repeat(depth);
    const k = formatScalar(key);
    lines.push(depth === keys.length - 1 ? `${pad}${k}: ${formatScalar(value)}` : `${pad}${k}:`);
  });
  const prefix = at === text.length && text.length > 0 && !text.endsWith('\n') ? eol : '';
  return text.slice(0, at) + prefix + lines.join(eol) + eol + text.slice(at);
}

function deletePair(text: string, map: YAMLMap, pair: Pair): string | undefined {
  if (map.items.length === 1) return undefined; // emptying a map changes its shape; use the fallback
  const k = pair.key as Node | null;
  if (!k?.range) return undefined;
  const start = lineStart(text, k.range[0]);
  if (text.slice(start, k.range[0]).trim() !== '') return undefined;
  const end = pairEnd(text, pair);
  if (end === undefined) return undefined;
  return text.slice(0, start) + text.slice(end);
}

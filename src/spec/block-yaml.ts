// A parser for the plain block YAML that specs are written in: nested `key: value` mappings,
// `- item` sequences (also at the key's indentation), one-line plain, single- and double-quoted
// scalars, one-line flow collections (`{cpu: 500m}`, `[--listen, ":3000"]`), comments, one
// leading `---`.
//
// Why it exists: `modelpin render` runs once per Argo CD manifest generation, and in a fresh
// process the `yaml` library's parser (generators, a CST, a composer) took about two thirds of
// the render's own time, ~5 ms for the example spec, before any of it is compiled. This parser is
// a few loops over lines and is fast even in V8's interpreter.
//
// It is a fast path, not a second YAML implementation: it declines (returns undefined) anything
// outside the subset, anything the `yaml` library would report as an error or warning, and
// anything whose meaning it does not know for certain; source.ts then uses the `yaml` library.
// Whatever it accepts must give exactly what the `yaml` library gives (YAML 1.2 core schema:
// the same JS value, the same node kinds and start offsets); block-yaml.test.ts checks that on
// every spec in the tests and on generated and mutated documents.
import type { LeafNode, MapEntry, MapNode, SeqNode, SpecNode } from './tree.js';

export interface Parsed {
  root: SpecNode;
  value: unknown;
}

class Decline extends Error {}
const DECLINE = new Decline();

// Characters this parser does not take anywhere: tabs (YAML forbids them in indentation and the
// rules around them are subtle), CR, BOM, other C0/C1 controls, surrogates (a lone one is an error).
const UNSUPPORTED_CHAR = /[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]/;

// YAML 1.2 core schema, as the `yaml` library resolves plain scalars. The words are looked up in
// a Set and digits scanned by hand: in a fresh process every regular expression costs a compile
// (and a second one to machine code when it runs again), and render runs in a fresh process.
const NULL_WORDS = new Set(['~', 'null', 'Null', 'NULL']);
const TRUE_WORDS = new Set(['true', 'True', 'TRUE']);
const FALSE_WORDS = new Set(['false', 'False', 'FALSE']);
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
// Octal, hex, .inf and .nan are core-schema numbers too; rare in a spec, so they are declined
// rather than resolved here (as is any other plain scalar starting with "." or "0o"/"0x").
const OTHER_NUMBER_RE = /^(?:[-+]?\.|0[ox])/;
// Plain keys: what a spec's field names, label keys and cluster names are made of: ASCII letters
// and "_" first, then also digits, ".", "/" and "-". A key that would resolve to null or a
// boolean is declined, and `__proto__` too (the `yaml` library defines it as an own property;
// plain assignment would not).
const SPECIAL_KEYS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', '__proto__']);
// The `yaml` library refuses implicit keys longer than 1024 characters.
const MAX_KEY_LENGTH = 1024;
// Nesting deeper than this is declined (recursion depth; no spec comes close).
const MAX_DEPTH = 64;

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const UNDERSCORE = 0x5f;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** Parse `text` if it lies in the supported subset; undefined means "use the full YAML parser". */
export function parseBlockYaml(text: string): Parsed | undefined {
  if (UNSUPPORTED_CHAR.test(text)) return undefined;
  try {
    return new BlockParser(text).document();
  } catch (e) {
    if (e === DECLINE) return undefined;
    throw e;
  }
}

class BlockParser {
  /** Per content line (blank and comment-only lines are skipped): indentation, first content offset, line end offset. */
  private readonly indent: number[] = [];
  private readonly start: number[] = [];
  private readonly end: number[] = [];
  private i = 0;

  constructor(private readonly text: string) {
    let seenContent = false;
    let pos = 0;
    while (pos <= text.length) {
      let eol = text.indexOf('\n', pos);
      if (eol === -1) eol = text.length;
      let p = pos;
      while (p < eol && text.charCodeAt(p) === SPACE) p++;
      if (p < eol && text.charCodeAt(p) !== HASH) {
        const c = text.charCodeAt(p);
        if (p === pos && (c === DASH || c === 0x2e) && /^(?:---|\.\.\.)(?:[ \n]|$)/.test(text.slice(p, p + 4))) {
          // One `---` before the content is common (kubectl style); anything else (documents,
          // `...`, a `--- value`) is left to the full parser.
          if (seenContent || c !== DASH || !this.restIsComment(p + 3, eol)) throw DECLINE;
        } else if (p === pos && c === 0x25 /* % directive */) {
          throw DECLINE;
        } else {
          this.indent.push(p - pos);
          this.start.push(p);
          this.end.push(eol);
          seenContent = true;
        }
      }
      pos = eol + 1;
    }
  }

  document(): Parsed {
    // The root must be a block mapping starting in column 1.
    if (this.indent.length === 0 || this.indent[0] !== 0 || this.isSeqItem(0)) throw DECLINE;
    const parsed = this.mapping(0, 0);
    if (this.i !== this.indent.length) throw DECLINE;
    return parsed;
  }

  private restIsComment(p: number, eol: number): boolean {
    p = skipSpaces(this.text, p, eol);
    return p === eol || (this.text.charCodeAt(p) === HASH && this.text.charCodeAt(p - 1) === SPACE);
  }

  private isSeqItem(line: number): boolean {
    const s = this.start[line]!;
    return this.text.charCodeAt(s) === DASH && (s + 1 === this.end[line] || this.text.charCodeAt(s + 1) === SPACE);
  }

  /** A block value starting at content line this.i, indented at `col`. */
  private block(col: number, depth: number): Parsed {
    return this.isSeqItem(this.i) ? this.sequence(col, depth) : this.mapping(col, depth);
  }

  private mapping(col: number, depth: number): Parsed {
    if (depth > MAX_DEPTH) throw DECLINE;
    const text = this.text;
    const entries: MapEntry[] = [];
    const value: Record<string, unknown> = {};
    const offset = this.start[this.i]!;
    while (this.i < this.indent.length && this.indent[this.i] === col && !this.isSeqItem(this.i)) {
      const line = this.i;
      const keyStart = this.start[line]!;
      const eol = this.end[line]!;
      let p = this.plainKeyEnd(keyStart, eol);
      if (text.charCodeAt(p) !== COLON || (p + 1 < eol && text.charCodeAt(p + 1) !== SPACE)) throw DECLINE;
      const key = text.slice(keyStart, p);
      if (key.length > MAX_KEY_LENGTH || SPECIAL_KEYS.has(key) || Object.hasOwn(value, key)) throw DECLINE;
      p++;
      while (p < eol && text.charCodeAt(p) === SPACE) p++;
      this.i++;
      let entryValue: Parsed;
      if (p === eol || text.charCodeAt(p) === HASH) {
        // `key:` with the value on the lines below: a nested block, a sequence at the key's own
        // indentation, or nothing (null, located where the `yaml` library puts it: after the colon).
        const next = this.i < this.indent.length ? this.indent[this.i]! : -1;
        if (next > col) entryValue = this.block(next, depth + 1);
        else if (next === col && this.isSeqItem(this.i)) entryValue = this.sequence(col, depth + 1);
        else entryValue = { root: leaf(p), value: null };
      } else {
        entryValue = this.inlineValue(p, eol);
      }
      entries.push({ key, keyNode: leaf(keyStart), value: entryValue.root });
      value[key] = entryValue.value;
    }
    // A line indented deeper than this mapping but not consumed by it continues a multi-line
    // scalar, or is an error: either way, the full parser's business.
    if (this.i < this.indent.length && this.indent[this.i]! > col) throw DECLINE;
    const node: MapNode = { kind: 'map', offset, entries };
    return { root: node, value };
  }

  private sequence(col: number, depth: number): Parsed {
    if (depth > MAX_DEPTH) throw DECLINE;
    const text = this.text;
    const items: SpecNode[] = [];
    const value: unknown[] = [];
    const offset = this.start[this.i]!;
    while (this.i < this.indent.length && this.indent[this.i] === col && this.isSeqItem(this.i)) {
      const line = this.i;
      const eol = this.end[line]!;
      let p = this.start[line]! + 1;
      while (p < eol && text.charCodeAt(p) === SPACE) p++;
      // `-` alone (item on the next lines), `- - x`, `- # comment`: left to the full parser.
      if (p === eol || text.charCodeAt(p) === HASH || text.charCodeAt(p) === DASH && (p + 1 === eol || text.charCodeAt(p + 1) === SPACE)) throw DECLINE;
      let item: Parsed;
      if (this.startsMappingEntry(p, eol)) {
        // `- name: x`: a mapping whose column is that of `name`; its later keys sit below it.
        this.indent[line] = col + (p - this.start[line]!);
        this.start[line] = p;
        item = this.mapping(this.indent[line]!, depth + 1);
      } else {
        item = this.inlineValue(p, eol);
        this.i++;
        // A more indented line after a one-line item continues a multi-line scalar (or is an error).
        if (this.i < this.indent.length && this.indent[this.i]! > col) throw DECLINE;
      }
      items.push(item.root);
      value.push(item.value);
    }
    const node: SeqNode = { kind: 'seq', offset, items };
    return { root: node, value };
  }

  /** Whether the text at p reads `key:` followed by a space or the end of the line. */
  private startsMappingEntry(p: number, eol: number): boolean {
    const end = keyEnd(this.text, p, eol);
    if (end === p || this.text.charCodeAt(end) !== COLON) return false;
    return end + 1 === eol || this.text.charCodeAt(end + 1) === SPACE;
  }

  /** A value that fits on the rest of the line: a scalar or a one-line flow collection. */
  private inlineValue(p: number, eol: number): Parsed {
    const text = this.text;
    const c = text.charCodeAt(p);
    let r: Scanned;
    if (c === DQUOTE || c === SQUOTE) r = this.quoted(p, eol);
    else if (c === LBRACKET || c === LBRACE) r = this.flowCollection(p, eol, 0);
    else {
      if (!plainMayStartAt(text, p, false)) throw DECLINE;
      let q = p;
      let last = p; // one past the last non-space character
      while (q < eol) {
        const ch = text.charCodeAt(q);
        if (ch === SPACE) {
          if (text.charCodeAt(q + 1) === HASH) break; // " #" starts a comment
        } else {
          // ": " inside a plain scalar is a second mapping key on one line: an error in YAML.
          if (ch === COLON && (q + 1 === eol || text.charCodeAt(q + 1) === SPACE)) throw DECLINE;
          last = q + 1;
        }
        q++;
      }
      return { root: leaf(p), value: resolvePlain(text.slice(p, last)) };
    }
    if (!this.restIsComment(r.end, eol)) throw DECLINE;
    return r;
  }

  /** A one-line single- or double-quoted scalar (no escapes) starting at p. */
  private quoted(p: number, eol: number): Scanned {
    const text = this.text;
    const c = text.charCodeAt(p);
    let out = '';
    let from = p + 1;
    let q = from;
    for (;;) {
      if (q >= eol) throw DECLINE; // unterminated on this line: multi-line, or an error
      const ch = text.charCodeAt(q);
      if (c === DQUOTE && ch === BACKSLASH) throw DECLINE;
      if (ch === c) {
        if (c === SQUOTE && text.charCodeAt(q + 1) === SQUOTE) {
          out += text.slice(from, q + 1);
          q += 2;
          from = q;
          continue;
        }
        break;
      }
      q++;
    }
    out += text.slice(from, q);
    return { root: leaf(p), value: out, end: q + 1 };
  }

  /**
   * `[a, b]` or `{k: v, k2: [x]}` on one line, nested or not. Flow collections across lines,
   * trailing commas, empty entries, `key:` without a value and a ":" that ends a plain scalar
   * are declined.
   */
  private flowCollection(p: number, eol: number, depth: number): Scanned {
    if (depth > MAX_DEPTH) throw DECLINE;
    const text = this.text;
    const isSeq = text.charCodeAt(p) === LBRACKET;
    const close = isSeq ? RBRACKET : RBRACE;
    const items: SpecNode[] = [];
    const entries: MapEntry[] = [];
    const seqValue: unknown[] = [];
    const mapValue: Record<string, unknown> = {};
    let q = skipSpaces(text, p + 1, eol);
    if (text.charCodeAt(q) === close) q++;
    else {
      for (;;) {
        if (isSeq) {
          const item = this.flowValue(q, eol, depth);
          items.push(item.root);
          seqValue.push(item.value);
          q = item.end;
        } else {
          const keyStart = q;
          q = this.plainKeyEnd(q, eol);
          const key = text.slice(keyStart, q);
          if (text.charCodeAt(q) !== COLON || text.charCodeAt(q + 1) !== SPACE) throw DECLINE;
          if (key.length > MAX_KEY_LENGTH || SPECIAL_KEYS.has(key) || Object.hasOwn(mapValue, key)) throw DECLINE;
          const item = this.flowValue(skipSpaces(text, q + 1, eol), eol, depth);
          entries.push({ key, keyNode: leaf(keyStart), value: item.root });
          mapValue[key] = item.value;
          q = item.end;
        }
        q = skipSpaces(text, q, eol);
        const ch = text.charCodeAt(q);
        if (ch === close) {
          q++;
          break;
        }
        if (ch !== COMMA) throw DECLINE;
        q = skipSpaces(text, q + 1, eol);
        if (q >= eol || text.charCodeAt(q) === close) throw DECLINE;
      }
    }
    if (q > eol) throw DECLINE;
    return isSeq
      ? { root: { kind: 'seq', offset: p, items }, value: seqValue, end: q }
      : { root: { kind: 'map', offset: p, entries }, value: mapValue, end: q };
  }

  private flowValue(p: number, eol: number, depth: number): Scanned {
    const text = this.text;
    const c = text.charCodeAt(p);
    if (c === DQUOTE || c === SQUOTE) return this.quoted(p, eol);
    if (c === LBRACKET || c === LBRACE) return this.flowCollection(p, eol, depth + 1);
    if (!plainMayStartAt(text, p, true)) throw DECLINE;
    let q = p;
    let last = p;
    while (q < eol) {
      const ch = text.charCodeAt(q);
      if (ch === COMMA || ch === RBRACKET || ch === RBRACE) break;
      if (ch === SPACE) {
        if (text.charCodeAt(q + 1) === HASH) throw DECLINE; // a comment inside the collection
      } else {
        // ":" ends a plain scalar unless a character that may continue it follows (s3://b/k,
        // host:port); "[" and "{" inside one are errors.
        if (ch === COLON && !flowPlainSafe(text.charCodeAt(q + 1))) throw DECLINE;
        if (ch === LBRACKET || ch === LBRACE) throw DECLINE;
        last = q + 1;
      }
      q++;
    }
    return { root: leaf(p), value: resolvePlain(text.slice(p, last)), end: last };
  }

  /** One past the end of a plain key at p (declines if there is none). */
  private plainKeyEnd(p: number, eol: number): number {
    const end = keyEnd(this.text, p, eol);
    if (end === p) throw DECLINE;
    return end;
  }
}

interface Scanned extends Parsed {
  /** One past the last character of the value. */
  end: number;
}

function flowPlainSafe(c: number): boolean {
  return c === c && c !== SPACE && c !== 0x0a && c !== COMMA && c !== LBRACKET && c !== RBRACKET && c !== LBRACE && c !== RBRACE;
}

/** One past the end of a plain key starting at p; p itself when none starts there. */
function keyEnd(text: string, p: number, eol: number): number {
  if (!isKeyStart(text.charCodeAt(p))) return p;
  do p++;
  while (p < eol && isKeyChar(text.charCodeAt(p)));
  return p;
}

function skipSpaces(text: string, p: number, eol: number): number {
  while (p < eol && text.charCodeAt(p) === SPACE) p++;
  return p;
}

/**
 * Whether a plain scalar may start at p. Indicators (anchors, aliases, tags, block scalars,
 * quotes, flow brackets, comments, reserved characters) mean something else; "-", "?" and ":"
 * start a scalar only when followed by a character that may follow them (`--listen`, `-1`), and
 * in a flow collection not by a flow indicator.
 */
function plainMayStartAt(text: string, p: number, inFlow: boolean): boolean {
  const c = text[p];
  if (c === undefined || '[]{},#&*!|>\'"%@`'.includes(c)) return false;
  if (c === '-' || c === '?' || c === ':') {
    const next = text[p + 1];
    return next !== undefined && next !== ' ' && next !== '\n' && !(inFlow && ',[]{}'.includes(next));
  }
  return c !== ' ' && c !== '\n';
}

function leaf(offset: number): LeafNode {
  return { kind: 'leaf', offset };
}

function isKeyStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === UNDERSCORE;
}

function isKeyChar(c: number): boolean {
  return isKeyStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2f || c === DASH;
}

/** `^[-+]?[0-9]+$` */
function isDecimalInt(s: string): boolean {
  let i = s.charCodeAt(0) === DASH || s.charCodeAt(0) === 0x2b ? 1 : 0;
  if (i === s.length) return false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function resolvePlain(s: string): unknown {
  if (NULL_WORDS.has(s)) return null;
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  const c = s.charCodeAt(0);
  // Only these can start a number: anything else is a string.
  if (!((c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2b || c === 0x2e)) return s;
  if (isDecimalInt(s)) return parseInt(s, 10);
  if (FLOAT_RE.test(s)) return parseFloat(s);
  if (OTHER_NUMBER_RE.test(s)) throw DECLINE;
  return s;
}

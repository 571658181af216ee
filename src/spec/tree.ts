// The spec's YAML as a small tree of offsets, so that every problem can be reported at the
// line:col where the user wrote the field. Two parsers build it: block-yaml.ts for the plain
// block YAML that specs are written in, and the `yaml` library for everything else (source.ts).
// Only what locating a field needs is kept: node kinds, mapping keys and start offsets.

import { quoteKey } from './credentials.js';

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

export interface Position {
  line: number;
  col: number;
}

export type SpecNode = MapNode | SeqNode | LeafNode;

export interface MapNode {
  readonly kind: 'map';
  readonly offset: number | undefined;
  readonly entries: readonly MapEntry[];
}

export interface MapEntry {
  /** The key as a string (what the JS value's property is called), or undefined for a key that is not a scalar. */
  readonly key: string | undefined;
  readonly keyNode: LeafNode;
  /** Undefined only for an explicit `? key` with no value. */
  readonly value: SpecNode | undefined;
}

export interface SeqNode {
  readonly kind: 'seq';
  readonly offset: number | undefined;
  readonly items: readonly SpecNode[];
}

/** A scalar, or an alias (which we never descend into). */
export interface LeafNode {
  readonly kind: 'leaf';
  readonly offset: number | undefined;
}

export interface Found {
  /** The deepest node on the path that exists. */
  node: SpecNode;
  /** The key node of the last mapping entry entered (for pointing at a field name). */
  key?: LeafNode;
  /** How many path segments were matched. */
  depth: number;
}

/**
 * `spec.rollout.canary.steps[1].weight`; keys that are not identifiers are bracketed and quoted,
 * and keys that are not plain names at all are described, never repeated (see quoteKey).
 */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${quoteKey(seg)}]`;
  }
  return out;
}

/** Walk `path` from `root` as far as it exists in the tree. */
export function walk(root: SpecNode | null, path: Path): Found | undefined {
  if (!root) return undefined;
  let node: SpecNode = root;
  let key: LeafNode | undefined;
  let depth = 0;
  for (const seg of path) {
    if (node.kind === 'map') {
      const entry = node.entries.find((e) => e.key !== undefined && e.key === String(seg));
      if (!entry) break;
      key = entry.keyNode;
      // `key:` with no value at all: point at the key.
      node = entry.value ?? entry.keyNode;
    } else if (node.kind === 'seq' && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) break;
      key = undefined;
      node = item;
    } else break;
    depth++;
  }
  return { node, ...(key ? { key } : {}), depth };
}

/** 1-based line and column of a character offset, counting lines as the `yaml` library does (by "\n"). */
export function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

// The YAML text as a tree we can point into: every problem is reported at the line:col of the
// node that caused it. Parsing refuses what YAML allows but a spec must not contain: several
// documents, alias bombs, duplicate keys, unknown tags.
import { parseAllDocuments, isAlias, isMap, isNode, isSeq, isScalar, isPair, type Document } from 'yaml';
import type { Problem } from '../errors.js';
import { parseBlockYaml } from './block-yaml.js';
import { redactYamlMessage, yamlSyntaxProblem } from './yaml-errors.js';
import { MAX_SPEC_BYTES } from './schema.js';
import { positionOf, type Position, type SpecNode } from './tree.js';

export { formatPath, type Path, type PathSeg, type Position } from './tree.js';

/** Aliases are rare in a spec; anything beyond this is a resource-exhaustion attempt. */
export const MAX_ALIAS_COUNT = 50;

export interface Source {
  readonly file: string;
  readonly text: string;
  /** The document's top node, for locating fields. */
  readonly root: SpecNode | null;
  readonly value: unknown;
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
  const fast = parseBlockYaml(text);
  if (fast) return { source: { file, text, root: fast.root, value: fast.value }, problems: [] };
  return loadWithYamlLibrary(text, file);
}

/** Everything YAML allows (and all of its errors), with the `yaml` library. Exported for the parser-agreement tests. */
export function loadWithYamlLibrary(text: string, file: string): { source?: Source; problems: Problem[] } {
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, strict: true });
  const at = (offset: number): Position => positionOf(text, offset);
  // parseAllDocuments returns an EmptyStream (an array with no documents) for empty input.
  const all = Array.isArray(docs) ? docs : [docs];
  const nonEmpty = all.filter((d) => !isEmptyDoc(d));
  const errors = all.flatMap((d) => [...d.errors, ...d.warnings]);
  if (errors.length > 0) return { problems: [yamlSyntaxProblem(errors, text, file)] };
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
    return { problems: [{ code: 'MODELPIN_E_SPEC_YAML', message: redactYamlMessage(e instanceof Error ? e.message : String(e)), file, line: 1, col: 1 }] };
  }
  return { source: { file, text, root: toTree(doc.contents), value }, problems: [] };
}

function isEmptyDoc(d: Document.Parsed): boolean {
  const c = d.contents;
  return c === null || (isScalar(c) && c.value === null && (c.source === '' || c.source === undefined));
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

/** The `yaml` library's node tree reduced to what locating a field needs. */
function toTree(n: unknown): SpecNode | null {
  if (isMap(n)) {
    return {
      kind: 'map',
      offset: n.range?.[0],
      entries: n.items.map((p) => ({
        key: isScalar(p.key) ? String(p.key.value) : undefined,
        keyNode: { kind: 'leaf' as const, offset: isNode(p.key) ? p.key.range?.[0] : undefined },
        value: toTree(p.value) ?? undefined,
      })),
    };
  }
  if (isSeq(n)) return { kind: 'seq', offset: n.range?.[0], items: n.items.map((it) => toTree(it) ?? { kind: 'leaf', offset: undefined }) };
  if (isScalar(n) || isAlias(n)) return { kind: 'leaf', offset: n.range?.[0] };
  return null;
}

/** 1-based line and column of a node, when it has a position. */
export function nodePosition(src: Source, node: SpecNode | undefined): Position | undefined {
  return node?.offset === undefined ? undefined : positionOf(src.text, node.offset);
}

// Structural validation with ajv against the JSON Schema, with every ajv error turned into a
// Problem that says what is wrong in words and points at the offending YAML node.
import type { ErrorObject } from 'ajv';
import { parseDigest } from '../digest.js';
import { ModelpinError, type ErrorCode, type Problem } from '../errors.js';
import type { Locator } from './locate.js';
import { specSchema, validationSchema, type JsonSchema, type Which } from './schema.js';
import { validator } from './validators.js';
import type { Path, PathSeg } from './source.js';
import { closest } from './suggest.js';
import { containsCredential, quoteKey } from './credentials.js';

/**
 * Validate a whole document (mutates `value`: ajv fills in schema defaults) and return problems.
 * `prefix` is prepended to ajv paths (for overlays validated on their own).
 */
export function checkStructure(value: unknown, which: Which, loc: Locator, file: string, prefix: Path = []): Problem[] {
  const v = validator(which);
  if (v(value)) return [];
  const out: Problem[] = [];
  const schemaRoot = validationSchema(which);
  for (const e of v.errors ?? []) {
    const p = toProblem(e, value, schemaRoot, loc, file, prefix);
    if (p) out.push(p);
  }
  return out;
}

/** One segment of a JSON pointer (RFC 6901: "~1" is "/", "~0" is "~"). */
function pointerSegment(raw: string): string {
  return raw.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The schema holding the keyword that failed: its schemaPath (#/properties/x/type) minus the keyword. */
function parentSchema(root: JsonSchema, schemaPath: string): JsonSchema {
  let cur: unknown = root;
  for (const raw of schemaPath.replace(/^#\/?/, '').split('/').slice(0, -1)) {
    if (raw === '') continue;
    const seg = pointerSegment(raw);
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
  }
  return cur && typeof cur === 'object' ? (cur as JsonSchema) : {};
}

/** An instancePath as path segments (array indexes as numbers), and the value it points at. */
function decodePointer(ptr: string, root: unknown): { path: PathSeg[]; value: unknown } {
  const path: PathSeg[] = [];
  let cur: unknown = root;
  if (ptr === '') return { path, value: cur };
  for (const raw of ptr.slice(1).split('/')) {
    const s = pointerSegment(raw);
    if (Array.isArray(cur)) {
      const i = Number(s);
      path.push(i);
      cur = cur[i];
    } else {
      path.push(s);
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[s] : undefined;
    }
  }
  return { path, value: cur };
}

function describe(v: unknown): string {
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return containsCredential(v) ? `a string of ${v.length} characters (not shown: it holds what looks like a credential)` : `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)}`;
  return `${typeof v} ${String(v)}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  object: 'a mapping (key: value)',
  array: 'a list',
  boolean: 'true or false',
  null: 'null',
};

function typeWords(t: unknown): string {
  const ts = (Array.isArray(t) ? t : [t]).map(String);
  return ts.map((x) => TYPE_WORDS[x] ?? x).join(' or ');
}

function toProblem(e: ErrorObject, root: unknown, schemaRoot: JsonSchema, loc: Locator, file: string, prefix: Path): Problem | undefined {
  const { path: base, value: data } = decodePointer(e.instancePath, root);
  const schema = parentSchema(schemaRoot, e.schemaPath);
  const make = (code: ErrorCode, path: Path, message: string, hint?: string, key = false): Problem => {
    const w = loc.locate([...prefix, ...path], { key });
    return {
      code,
      message,
      ...(hint === undefined ? {} : { hint }),
      file,
      ...(w.line === undefined ? {} : { line: w.line, col: w.col }),
      path: w.path,
    };
  };
  const params = e.params as Record<string, unknown>;
  // Errors inside propertyNames carry the offending key.
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (e.keyword === 'propertyNames') return undefined;
  if (propertyName !== undefined) {
    const why = typeof schema.patternErrorMessage === 'string' ? schema.patternErrorMessage : e.message ?? 'is not allowed';
    return make('MODELPIN_E_SPEC_INVALID', [...base, propertyName], `key ${quoteKey(propertyName)} ${why}`, 'rename the key', true);
  }
  switch (e.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return make('MODELPIN_E_SPEC_INVALID', [...base, missing], `required field \`${missing}\` is missing`, `add \`${missing}:\` here (see \`modelpin schema\` for its description)`);
    }
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      const known = Object.keys((schema.properties ?? {}) as object);
      const guess = closest(extra, known);
      const shown = quoteKey(extra).startsWith('"') ? `\`${extra}\`` : quoteKey(extra);
      const message = guess ? `unknown field ${shown}; did you mean \`${guess}\`?` : `unknown field ${shown}`;
      const elsewhere = guess ? [] : (fieldIndex().get(extra) ?? []);
      const hint = guess
        ? `rename it to \`${guess}\``
        : elsewhere.length > 0
          ? `\`${extra}\` belongs at ${elsewhere.join(' or ')}; move it there (check the indentation)`
          : known.length > 0
          ? `remove it; fields allowed here: ${known.join(', ')}`
          : 'remove it';
      return make('MODELPIN_E_SPEC_UNKNOWN_FIELD', [...base, extra], message, hint, true);
    }
    case 'type': {
      const wanted = typeWords(params.type);
      const quote = (params.type === 'string' || (Array.isArray(params.type) && params.type.includes('string'))) && (typeof data === 'number' || typeof data === 'boolean');
      return make(
        'MODELPIN_E_SPEC_INVALID',
        base,
        `must be ${wanted}, not ${describe(data)}`,
        quote ? `quote the value: "${String(data)}"` : data === null ? 'give it a value or remove the field' : undefined,
      );
    }
    case 'enum': {
      const allowed = ((params.allowedValues as unknown[]) ?? []).filter((x) => x !== null).map((x) => String(x));
      return make('MODELPIN_E_SPEC_INVALID', base, `must be one of ${allowed.join(', ')}, not ${describe(data)}`, `use one of: ${allowed.join(', ')}`);
    }
    case 'const':
      return make('MODELPIN_E_SPEC_INVALID', base, `must be ${JSON.stringify(params.allowedValue)}, not ${describe(data)}`, `write ${JSON.stringify(params.allowedValue)}`);
    case 'pattern': {
      const last = base[base.length - 1];
      if (last === 'digest' && typeof data === 'string') {
        try {
          parseDigest(data);
        } catch (err) {
          if (err instanceof ModelpinError) {
            const p = err.problems[0]!;
            return make('MODELPIN_E_SPEC_DIGEST', base, p.message, p.hint);
          }
        }
      }
      const why = typeof schema.patternErrorMessage === 'string' ? schema.patternErrorMessage : `must match ${String(params.pattern)}`;
      return make('MODELPIN_E_SPEC_INVALID', base, `${describe(data)} is not valid: it ${why}`);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return make('MODELPIN_E_SPEC_INVALID', base, `${String(data)} is out of range: ${rangeWords(schema)}`);
    case 'minLength':
      return make('MODELPIN_E_SPEC_INVALID', base, Number(params.limit) === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`);
    case 'maxLength':
      return make('MODELPIN_E_SPEC_INVALID', base, `is ${typeof data === 'string' ? data.length : '?'} characters long; the limit is ${String(params.limit)}`);
    case 'minItems':
      return make('MODELPIN_E_SPEC_INVALID', base, `must have at least ${String(params.limit)} ${Number(params.limit) === 1 ? 'entry' : 'entries'}`);
    case 'minProperties': {
      const props = Object.keys((schema.properties ?? {}) as object);
      return make(
        'MODELPIN_E_SPEC_INVALID',
        base,
        props.length > 0 ? `must set at least one of ${props.join(', ')}` : `must have at least ${String(params.limit)} ${Number(params.limit) === 1 ? 'entry' : 'entries'}`,
      );
    }
    default:
      return make('MODELPIN_E_SPEC_INVALID', base, e.message ?? `fails the ${e.keyword} rule`);
  }
}

let index: Map<string, string[]> | undefined;

/** Field name → where the schema defines it (spec.replicas, ...), for misplaced fields. */
function fieldIndex(): Map<string, string[]> {
  if (index) return index;
  const idx = new Map<string, string[]>();
  const visit = (s: JsonSchema, path: string): void => {
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
      if (path.startsWith('spec.clusters')) continue;
      const here = path === '' ? k : `${path}.${k}`;
      idx.set(k, [...(idx.get(k) ?? []), here]);
      visit(v, here);
    }
    if (s.items && typeof s.items === 'object') visit(s.items as JsonSchema, `${path}[]`);
  };
  visit(specSchema(), '');
  return (index = idx);
}

function rangeWords(s: JsonSchema): string {
  const lo = typeof s.minimum === 'number' ? `≥ ${s.minimum}` : typeof s.exclusiveMinimum === 'number' ? `> ${s.exclusiveMinimum}` : undefined;
  const hi = typeof s.maximum === 'number' ? `≤ ${s.maximum}` : typeof s.exclusiveMaximum === 'number' ? `< ${s.exclusiveMaximum}` : undefined;
  if (typeof s.minimum === 'number' && typeof s.maximum === 'number') return `must be between ${s.minimum} and ${s.maximum}`;
  return `must be ${[lo, hi].filter(Boolean).join(' and ')}`;
}

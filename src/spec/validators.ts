// The ajv validators for a whole document and for a cluster overlay, compiled at run time.
// Compiling costs ~100 ms per schema, which `modelpin render` cannot afford at start-up, so the
// CLI bundle replaces this module with ajv's standalone code generated from the same schemas and
// the same options at build time (test/tools/build.mjs). Tests and library use import this one.
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { overlaySchema, specSchema, type JsonSchema } from './schema.js';

export const AJV_OPTIONS: Options = { allErrors: true, verbose: true, useDefaults: true, strict: true, strictTypes: false, allowUnionTypes: true };

export type Which = 'full' | 'overlay';

export function newAjv(extra: Options = {}): Ajv {
  const ajv = new Ajv({ ...AJV_OPTIONS, ...extra });
  // Editor-facing annotation (VS Code / yaml-language-server show it on a pattern mismatch).
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  return ajv;
}

/** The document schema minus spec.clusters: overlays are merged (or checked with overlaySchema) before validation. */
export function documentSchema(): JsonSchema {
  const full = specSchema();
  const spec = (full.properties as Record<string, JsonSchema>).spec!;
  const props = { ...(spec.properties as Record<string, JsonSchema>) };
  delete props.clusters;
  const out: JsonSchema = { ...full, properties: { ...(full.properties as object), spec: { ...spec, properties: props } } };
  delete out.$id; // not the published schema; don't claim its id
  return out;
}

export const SCHEMAS: Record<Which, () => JsonSchema> = { full: documentSchema, overlay: overlaySchema };

// Each validator is compiled on first use: a spec without clusters never pays for the overlay one.
let ajv: Ajv | undefined;
const compiled: Partial<Record<Which, ValidateFunction>> = {};

export function validator(which: Which): ValidateFunction {
  ajv ??= newAjv();
  return (compiled[which] ??= ajv.compile(SCHEMAS[which]()));
}

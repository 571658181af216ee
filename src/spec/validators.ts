// The ajv validators for a whole document and for a cluster overlay, compiled at run time.
// Compiling costs ~100 ms per schema, which `modelpin render` cannot afford at start-up, so the
// CLI bundle replaces this module with ajv's standalone code generated from the same schemas and
// the same options at build time (test/tools/build.mjs). Tests and library use import this one.
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { validationSchema, type JsonSchema } from './schema.js';

// Not `verbose`: structure.ts finds an error's schema and data from its paths, and the code ajv
// generates without it is a quarter smaller (the plugin image loads it on every render).
export const AJV_OPTIONS: Options = { allErrors: true, useDefaults: true, strict: true, strictTypes: false, allowUnionTypes: true };

export type { Which } from './schema.js';
import type { Which } from './schema.js';

export function newAjv(extra: Options = {}): Ajv {
  const ajv = new Ajv({ ...AJV_OPTIONS, ...extra });
  // Editor-facing annotation (VS Code / yaml-language-server show it on a pattern mismatch).
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  return ajv;
}

export const SCHEMAS: Record<Which, () => JsonSchema> = { full: () => validationSchema('full'), overlay: () => validationSchema('overlay') };

// Each validator is compiled on first use: a spec without clusters never pays for the overlay one.
let ajv: Ajv | undefined;
const compiled: Partial<Record<Which, ValidateFunction>> = {};

export function validator(which: Which): ValidateFunction {
  ajv ??= newAjv();
  return (compiled[which] ??= ajv.compile(SCHEMAS[which]()));
}

// The committed editor schema must be exactly what `modelpin schema` prints, and the schema must
// describe every field for editors (title/description) while refusing unknown ones.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { overlaySchema, schemaJson, specSchema, type JsonSchema } from '../../../src/spec/schema.js';

const committed = new URL('../../../plugin/schema/modelpin.schema.json', import.meta.url);

function walkObjects(s: JsonSchema, path: string, visit: (s: JsonSchema, path: string) => void): void {
  visit(s, path);
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) walkObjects(v, `${path}.${k}`, visit);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') walkObjects(s.additionalProperties as JsonSchema, `${path}.*`, visit);
  if (s.items && typeof s.items === 'object') walkObjects(s.items as JsonSchema, `${path}[]`, visit);
}

describe('JSON Schema', () => {
  it('plugin/schema/modelpin.schema.json is in sync with `modelpin schema` (regenerate: node dist/modelpin.js schema > plugin/schema/modelpin.schema.json)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(schemaJson());
  });

  it('is stable 2-space JSON ending in a newline', () => {
    const text = schemaJson();
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.stringify(JSON.parse(text), null, 2) + '\n').toBe(text);
    expect(schemaJson()).toBe(text);
  });

  it('closes every object (additionalProperties: false) and documents every property', () => {
    const missing: string[] = [];
    walkObjects(specSchema(), '$', (s, path) => {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (types.includes('object') && s.properties && s.additionalProperties !== false) missing.push(`${path}: additionalProperties`);
      if (s.properties) {
        for (const [k, v] of Object.entries(s.properties as Record<string, JsonSchema>)) {
          if (typeof v.description !== 'string' || typeof v.title !== 'string') missing.push(`${path}.${k}: title/description`);
        }
      }
    });
    expect(missing).toEqual([]);
  });

  it('compiles under a stock strict ajv and accepts the example spec', () => {
    const ajv = new Ajv({ strict: true, strictTypes: false, allowUnionTypes: true });
    ajv.addKeyword('patternErrorMessage');
    const validate = ajv.compile(specSchema());
    const full = parse(readFileSync(new URL('../../fixtures/specs/valid/full.yaml', import.meta.url), 'utf8'));
    expect(validate(full), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...full, extra: 1 })).toBe(false);
  });

  it('overlays are partial: nothing required, no defaults, null allowed', () => {
    expect(overlaySchema().required).toBeUndefined();
    const text = JSON.stringify(overlaySchema());
    expect(text).not.toContain('"default"');
    expect(text).not.toContain('"required":["model"');
  });
});

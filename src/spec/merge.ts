// Cluster overlays: objects merge recursively, arrays and scalars replace, null deletes the key.
// Works on plain JSON-like values (the output of YAML toJS) and never mutates its inputs.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (!isPlainObject(overlay) || !isPlainObject(base)) return cloneJson(overlay);
  const out: Record<string, unknown> = cloneJson(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(overlay)) {
    if (v === null) delete out[k];
    else if (isPlainObject(v) && Object.hasOwn(out, k) && isPlainObject(out[k])) setOwn(out, k, deepMerge(out[k], v));
    else setOwn(out, k, cloneJson(stripNulls(v)));
  }
  return out;
}

/**
 * YAML may legally contain a `__proto__:` key (yaml defines it as an own property). Plain
 * assignment would set the prototype instead and hide the key from the unknown-field check.
 */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A new object under an overlay key has no base to delete from: null members are just absent. */
function stripNulls(v: unknown): unknown {
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) setOwn(out, k, stripNulls(x));
  return out;
}

export function cloneJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneJson);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, cloneJson(x));
    return out;
  }
  return v;
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

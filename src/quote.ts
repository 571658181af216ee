// Quoting a caller's value inside an error message, bounded. A 400 must name what was wrong, but
// an attacker controls the value: a 10 MB input name must not come back as a 10 MB error body,
// and a value nested 5,000 levels deep must not exhaust the stack while the message is built.

const DEFAULT_MAX = 120;
const MAX_DEPTH = 8;

/**
 * A short, JSON-like rendering of `v`: at most `max` characters of it, then an ellipsis and the
 * full length (`"aaaa…" (10485760 chars)`). Arrays and objects are rendered iteratively and cut
 * off at a small depth, so any input is safe.
 */
export function quote(v: unknown, max = DEFAULT_MAX): string {
  const full = render(v, max + 1);
  if (full.length <= max) return full;
  const len = typeof v === 'string' ? ` (${v.length} chars)` : '';
  return `${full.slice(0, max)}…${len}`;
}

/** Punctuation on the render stack (a class, so no caller's value can pass for one). */
class Tok {
  constructor(readonly text: string) {}
}

/** JSON-ish text of v, stopping once `limit` characters are produced. */
function render(v: unknown, limit: number): string {
  let out = '';
  // An explicit stack of pending values and punctuation instead of recursion.
  const stack: unknown[] = [v];
  const depthOf = new Map<unknown, number>();
  while (stack.length > 0 && out.length < limit) {
    const x = stack.pop();
    if (x instanceof Tok) {
      out += x.text;
      continue;
    }
    const depth = depthOf.get(x) ?? 0;
    if (typeof x === 'string') out += JSON.stringify(x.length > limit ? x.slice(0, limit) : x).slice(0, x.length > limit ? -1 : undefined);
    else if (typeof x === 'bigint') out += x.toString();
    else if (typeof x === 'number' || typeof x === 'boolean' || x === null) out += String(x);
    else if (x === undefined) out += 'undefined';
    else if (Array.isArray(x)) {
      if (depth >= MAX_DEPTH) {
        out += '[…]';
        continue;
      }
      out += '[';
      stack.push(new Tok(']'));
      for (let i = Math.min(x.length, limit) - 1; i >= 0; i--) {
        stack.push(x[i]);
        if (x[i] !== null && typeof x[i] === 'object') depthOf.set(x[i], depth + 1);
        if (i > 0) stack.push(new Tok(','));
      }
    } else if (typeof x === 'object') {
      if (depth >= MAX_DEPTH) {
        out += '{…}';
        continue;
      }
      const keys = Object.keys(x as object).slice(0, limit);
      out += '{';
      stack.push(new Tok('}'));
      for (let i = keys.length - 1; i >= 0; i--) {
        const val = (x as Record<string, unknown>)[keys[i]!];
        stack.push(val);
        if (val !== null && typeof val === 'object') depthOf.set(val, depth + 1);
        stack.push(new Tok(`${JSON.stringify(keys[i]!.slice(0, limit))}:`));
        if (i > 0) stack.push(new Tok(','));
      }
    } else out += String(x);
  }
  return out;
}

/**
 * A name from a request (model, version, tensor) as messages write names: 'fraud' in single
 * quotes when it is short printable text, otherwise quoted and bounded like any value.
 */
export function quoteName(v: unknown, max = DEFAULT_MAX): string {
  if (typeof v === 'string' && v.length <= max && /^[\x20-\x7e]*$/.test(v) && !v.includes("'")) return `'${v}'`;
  return quote(v, max);
}

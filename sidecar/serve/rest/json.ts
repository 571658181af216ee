// JSON parsing for inference requests. JSON.parse turns 9007199254740993 into ...992, which
// silently corrupts INT64/UINT64 tensors; Node 22's reviver `context.source` would fix that but
// Node 20 lacks it. So: JSON.parse on the fast path, and this small exact parser — integer
// literals beyond 2^53 become BigInt — only when the body could contain such a literal.

/** A JSON syntax error with the byte position, so a 400 can say where the body is malformed. */
export class JsonSyntaxError extends Error {}

const SAFE_DIGITS = /\d{16}/;

/** Parse JSON; integer literals that a double cannot hold exactly come back as BigInt when exactInts is set. */
export function parseJson(text: string, exactInts: boolean): unknown {
  if (!exactInts || !SAFE_DIGITS.test(text)) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new JsonSyntaxError((err as Error).message);
    }
  }
  return new ExactParser(text).parseDocument();
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

class ExactParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): unknown {
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected data after the JSON value');
    return v;
  }

  private fail(what: string): never {
    throw new JsonSyntaxError(`${what} at position ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  private value(depth: number): unknown {
    if (depth > 512) this.fail('nesting too deep');
    this.ws();
    const c = this.s.charCodeAt(this.i);
    if (c === 123 /* { */) return this.object(depth);
    if (c === 91 /* [ */) return this.array(depth);
    if (c === 34 /* " */) return this.string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (this.s.startsWith('true', this.i)) return (this.i += 4), true;
    if (this.s.startsWith('false', this.i)) return (this.i += 5), false;
    if (this.s.startsWith('null', this.i)) return (this.i += 4), null;
    return this.fail(this.i >= this.s.length ? 'unexpected end of JSON input' : `unexpected character ${JSON.stringify(this.s[this.i])}`);
  }

  private object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 125) return this.i++, out;
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 34) this.fail('expected a string key');
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i) !== 58) this.fail("expected ':'");
      this.i++;
      // defineProperty: a "__proto__" key must stay data, not change the prototype.
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 125) return out;
      if (c !== 44) this.i--, this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 93) return this.i++, out;
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 93) return out;
      if (c !== 44) this.i--, this.fail("expected ',' or ']'");
    }
  }

  private string(): string {
    const start = this.i;
    STRING_BODY.lastIndex = start + 1;
    if (!STRING_BODY.test(this.s)) this.fail('unterminated or invalid string');
    this.i = STRING_BODY.lastIndex;
    // The slice is a validated JSON string literal; JSON.parse decodes its escapes exactly.
    return JSON.parse(this.s.slice(start, this.i)) as string;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) this.fail('invalid number');
    const lit = m[0];
    this.i += lit.length;
    const n = Number(lit);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(lit);
    return n;
  }
}

// A small YAML emitter for rendered manifests: plain data (mappings, sequences, strings, numbers,
// booleans, null) in block style, keys in insertion order. The general-purpose `yaml` stringifier
// builds a document tree first and costs several milliseconds on every Argo CD manifest
// generation; this writes the text directly.
//
// Strings are written plain only when every YAML reader takes them back as the same string: the
// YAML 1.1 reader Argo CD and kubectl use (sigs.k8s.io/yaml), which reads `yes`, `on`, `0755` and
// `1:30` as non-strings, as well as YAML 1.2. Anything doubtful is double-quoted (JSON escapes are
// valid YAML escapes). Multi-line strings become literal blocks.

const INDENT = '  ';

// Words a YAML 1.1 or 1.2 reader resolves to a boolean or null.
const SPECIAL_WORDS = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|=|<<)$/;
// What a YAML 1.1 or 1.2 reader may resolve to a number or timestamp: digits with dots,
// underscores and colons (ints, floats, octal, sexagesimal 1:30), radix prefixes, exponents,
// dates, .inf/.nan. Deliberately broader than either spec; quantities like 500m or 25% stay plain.
const NUMBER_LIKE = /^[-+]?[0-9._:]+$|^[-+]?0[xXoObB]|^[-+]?[0-9._]*[eE][-+]?[0-9]+$|^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/;
// Characters a plain scalar may not start with (indicators), or whitespace. A "-" may start a
// plain scalar when a non-space follows (--uri); "- x" and "-" alone are refused below.
const BAD_FIRST = /^[?:,[\]{}#&*!|>'"%@`\s]|^-(?:\s|$)/;
// Anything outside YAML's printable set, and line breaks/tabs: such strings are quoted.
// eslint-disable-next-line no-control-regex
const NON_PLAIN_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;

// SPECIAL_WORDS that a simple word (below) can be.
const SPECIAL_WORD_SET = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'on', 'On', 'ON', 'off', 'Off', 'OFF', 'null', 'Null', 'NULL']);

/**
 * Most strings in a manifest are simple words: an ASCII letter, then letters, digits and `_ . / -`
 * (`fraud-detector`, `app.kubernetes.io/name`, `apps/v1`). They are answered without the regular
 * expressions below, which cost a compile each (and a second one to machine code on their second
 * use) in every fresh `modelpin render` process. Such a word is plain unless it is one of the
 * special words or an exponent NUMBER_LIKE would catch (`e5`, `E-3`).
 */
function simpleWordIsPlain(s: string): boolean | undefined {
  const c0 = s.charCodeAt(0);
  if (!((c0 >= 0x61 && c0 <= 0x7a) || (c0 >= 0x41 && c0 <= 0x5a))) return undefined;
  let digitsAfterE = (c0 === 0x65 || c0 === 0x45) && s.length > 1;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const digit = c >= 0x30 && c <= 0x39;
    if (!(digit || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x2e || c === 0x2f || c === 0x2d)) return undefined;
    if (!digit && !(i === 1 && c === 0x2d && s.length > 2)) digitsAfterE = false;
  }
  return !digitsAfterE && !SPECIAL_WORD_SET.has(s);
}

function isPlainSafe(s: string): boolean {
  const simple = simpleWordIsPlain(s);
  if (simple !== undefined) return simple;
  return (
    s !== '' &&
    !BAD_FIRST.test(s) &&
    !/\s$/.test(s) &&
    !SPECIAL_WORDS.test(s) &&
    !NUMBER_LIKE.test(s) &&
    !s.includes(': ') &&
    !s.includes(' #') &&
    !s.endsWith(':') &&
    !NON_PLAIN_CHAR.test(s)
  );
}

/** A double-quoted scalar: JSON's escapes, plus the characters YAML treats as breaks or non-printable. */
function quote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** A literal block (`|`, `|-`, `|+`) for multi-line text that round-trips through one; else undefined. */
function literalBlock(s: string, indent: string): string | undefined {
  if (!s.includes('\n') || /^[ \t\n]/.test(s) || NON_PLAIN_CHAR.test(s.replace(/\n/g, '')) || /[ \t]\n/.test(s)) return undefined;
  const body = s.replace(/\n+$/, '');
  const trailing = s.length - body.length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const lines = (chomp === '+' ? s.slice(0, -1) : body).split('\n');
  return `|${chomp}\n` + lines.map((l) => (l === '' ? '' : indent + l)).join('\n') + '\n';
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} in a manifest`);
    return String(v);
  }
  if (typeof v === 'string') return isPlainSafe(v) ? v : quote(v);
  throw new Error(`cannot write a ${typeof v} in a manifest`);
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Lines for `value` placed after "key:" (or "-") at nesting `indent`. Returns the text including the leading separator. */
function after(value: unknown, indent: string): string {
  if (Array.isArray(value)) return value.length === 0 ? ' []\n' : '\n' + seq(value, indent + INDENT);
  if (isMap(value)) return Object.keys(value).length === 0 ? ' {}\n' : '\n' + map(value, indent + INDENT);
  if (typeof value === 'string') {
    const block = literalBlock(value, indent + INDENT);
    if (block !== undefined) return ' ' + block;
  }
  return ' ' + scalar(value) + '\n';
}

function map(m: Record<string, unknown>, indent: string): string {
  let out = '';
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined) continue;
    out += indent + (isPlainSafe(k) ? k : quote(k)) + ':' + after(v, indent);
  }
  return out;
}

function seq(items: unknown[], indent: string): string {
  let out = '';
  for (const item of items) {
    if (isMap(item) && Object.keys(item).length > 0) {
      // "- " then the mapping, its first key on the dash's line.
      const inner = map(item, indent + INDENT);
      out += indent + '- ' + inner.slice(indent.length + INDENT.length);
    } else if (Array.isArray(item) && item.length > 0) {
      const inner = seq(item, indent + INDENT);
      out += indent + '- ' + inner.slice(indent.length + INDENT.length);
    } else {
      out += indent + '-' + after(item, indent);
    }
  }
  return out;
}

/** One YAML document (without the `---` marker) for a plain-data value; ends with a newline. */
export function emitYaml(value: unknown): string {
  if (isMap(value)) return Object.keys(value).length === 0 ? '{}\n' : map(value, '');
  if (Array.isArray(value)) return value.length === 0 ? '[]\n' : seq(value, '');
  return scalar(value) + '\n';
}

// A YAML syntax failure as one problem. The `yaml` library reports every error it meets, and one
// slip (a mis-indented line, a stray `}`) usually leaves a trail of follow-on errors after it, each
// with the same fix line; only the first is worth reading, so that one is reported, in words that
// point at the line to fix, with a count of the others.
// The library quotes text from the file in its messages ("Unexpected scalar token in YAML stream:
// "wJalr…""). A syntax error can sit on a line that holds a secret, and stderr ends up in the
// Argo CD UI, so quoted text is repeated only when it cannot be one: YAML punctuation or a field
// name the spec schema defines, and never anything the credential scan flags.
import type { Problem } from '../errors.js';
import { containsCredential } from './credentials.js';
import { specSchema, type JsonSchema } from './schema.js';
import { positionOf } from './tree.js';

/** What the `yaml` library's errors and warnings carry (YAMLError), as far as this module reads it. */
export interface YamlLibraryError {
  readonly code: string;
  readonly message: string;
  readonly pos: readonly [number, number];
}

const WITHHELD = '(text not shown)';

export function yamlSyntaxProblem(errors: readonly YamlLibraryError[], text: string, file: string): Problem {
  let first = errors[0]!;
  for (const e of errors) if (e.pos[0] < first.pos[0]) first = e;
  const more = errors.length - 1;
  const followOns = more === 0 ? '' : ` (${more} more YAML error${more === 1 ? '' : 's'} after this one, most likely caused by it, not shown)`;
  const indent = first.code === 'BLOCK_AS_IMPLICIT_KEY' || first.code === 'MULTILINE_IMPLICIT_KEY' ? overIndentedLine(text, first.pos[0]) : undefined;
  if (indent) {
    return {
      code: 'MODELPIN_E_SPEC_YAML',
      message: `this line is indented more than the key on line ${indent.keyLine}, so YAML reads it as part of that key's value${followOns}`,
      hint: `indent it like the key on line ${indent.keyLine} (${indent.keyCol - 1} spaces) if it belongs to the same mapping, or check the indentation of line ${indent.keyLine}`,
      file,
      line: indent.line,
      col: indent.col,
    };
  }
  const message = redactYamlMessage(first.message.replace(/ at line \d+, column \d+.*$/s, ''));
  return { code: 'MODELPIN_E_SPEC_YAML', message: `${message}${followOns}`, hint: yamlHint(first.code), file, ...positionOf(text, skipIndent(text, first.pos[0])) };
}

/** An offset inside a line's leading spaces (where BAD_INDENT points) moved to the line's first character. */
function skipIndent(text: string, offset: number): number {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  if (text.slice(lineStart, offset).trim() !== '') return offset;
  let i = offset;
  while (text[i] === ' ') i++;
  return i < text.length && text[i] !== '\n' && text[i] !== '\r' ? i : offset;
}

/**
 * `uri: s3://…` followed by a line indented deeper (`     digest: …`): YAML continues the plain
 * value onto that line and then fails at the value's start, a line above the real slip. Finds that
 * deeper line, or undefined when the error is something else.
 */
function overIndentedLine(text: string, offset: number): { line: number; col: number; keyLine: number; keyCol: number } | undefined {
  const lines = text.split('\n');
  const at = positionOf(text, offset);
  const keyText = lines[at.line - 1] ?? '';
  const m = /^( *)(- +)?[^\s#]/.exec(keyText);
  if (!m) return undefined;
  const keyCol = m[1]!.length + (m[2]?.length ?? 0) + 1;
  for (let i = at.line; i < lines.length; i++) {
    const l = lines[i]!;
    const trimmed = l.trimStart();
    if (trimmed.trim() === '' || trimmed.startsWith('#')) continue;
    const col = l.length - trimmed.length + 1;
    return col > keyCol ? { line: i + 1, col, keyLine: at.line, keyCol } : undefined;
  }
  return undefined;
}

// Messages that carry file text without quotes: the text after the prefix is checked as a whole.
const UNQUOTED_SOURCE = [
  /^(Not a YAML token: )(.*)$/s,
  /^(Unknown directive )(.*)$/s,
  /^(Unsupported YAML version )(.*)$/s,
  /^(Not a valid tag: )(.*)$/s,
  /^(Could not resolve tag: )(.*)$/s,
  /^(Unresolved tag: )(.*)$/s,
  /^(Block scalar header includes extra characters: )(.*)$/s,
  /^(Invalid escape sequence )(.*)$/s,
  /^(Plain value cannot start with )(.*)$/s,
  /^(Ordered maps must not include duplicate keys: )(.*)$/s,
];
// Messages that embed file text in the middle: replaced by fixed wording.
const FIXED: [RegExp, string][] = [
  [/^The .* tag has no suffix$/s, 'A tag has no suffix'],
  [/^Verbatim tags aren't resolved, so .* is invalid\.$/s, "Verbatim tags aren't resolved"],
];

/** The library's message with every piece of file text that could be a secret replaced. Exported for tests. */
export function redactYamlMessage(message: string): string {
  for (const [re, fixed] of FIXED) if (re.test(message)) return fixed;
  for (const re of UNQUOTED_SOURCE) {
    const m = re.exec(message);
    if (m) return `${m[1]}${safeToEcho(m[2]!) ? m[2] : WITHHELD}`;
  }
  const out = message.replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => {
    let s: unknown;
    try {
      s = JSON.parse(quoted);
    } catch {
      return WITHHELD;
    }
    return typeof s === 'string' && safeToEcho(s) ? quoted : WITHHELD;
  });
  // Last line of defence, for a message shape not listed above.
  return containsCredential(out) ? 'YAML syntax error (the message quoted text that looks like a credential; it is not shown)' : out;
}

// YAML indicators and flow punctuation: "}", ",", ":", "-", "? ", quotes, and the like.
const PUNCTUATION = /^[\s{}[\],:?\-|>&*!#%@`'"]{1,8}$/;

function safeToEcho(s: string): boolean {
  if (s.length > 64 || containsCredential(s)) return false;
  return PUNCTUATION.test(s) || /^\\.$/s.test(s) || fieldNames().has(s);
}

let names: Set<string> | undefined;

/** Every property name the spec schema defines (apiVersion, serving, maxBatchSize, …). */
function fieldNames(): Set<string> {
  if (names) return names;
  const out = new Set<string>();
  const visit = (s: unknown): void => {
    if (!s || typeof s !== 'object') return;
    if (Array.isArray(s)) return s.forEach(visit);
    const o = s as JsonSchema;
    if (o.properties && typeof o.properties === 'object') for (const k of Object.keys(o.properties)) out.add(k);
    for (const v of Object.values(o)) visit(v);
  };
  visit(specSchema());
  return (names = out);
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'remove one of the two entries with the same key';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'TAG_RESOLVE_FAILED':
      return 'remove the custom !tag';
    case 'BAD_INDENT':
      return 'indent this line like the other keys of the same mapping (spaces only)';
    default:
      return 'fix the YAML syntax at this position (check indentation, quotes and brackets)';
  }
}

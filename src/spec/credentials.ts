// Secrets must never be written into a spec (it lives in git and ends up in pod templates).
// This scan looks at the whole document, overlays included, and reports where a secret appears
// without ever repeating its value.
import type { Problem } from '../errors.js';
import type { Locator } from './locate.js';
import { isPlainObject } from './merge.js';
import type { PathSeg } from './source.js';

const AWS_KEY_ID_RE = /(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/;
// user:password@ in any URI; a bare user@ only where it would be a token (https://<token>@host),
// not in ssh://git@github.com/... provenance links.
// Anywhere in the value: a URI inside a longer string (a note, a broken line) counts too.
const USERINFO_RE = /([a-z][a-z0-9+.-]*):\/\/([^/?#\s@]+)@/i;
const TOKEN_USERINFO_SCHEMES = new Set(['http', 'https', 's3', 'models', 'file']);

// The scan runs on every string and key of the spec in every render. In a fresh process a regular
// expression is compiled on first use and again to machine code on its second, so each check
// first asks a cheap substring question that almost every value answers with no.
function hasUserinfoCredential(s: string): boolean {
  if (!s.includes('@') || !s.includes('://')) return false;
  const m = USERINFO_RE.exec(s);
  if (!m) return false;
  return m[2]!.includes(':') || TOKEN_USERINFO_SCHEMES.has(m[1]!.toLowerCase());
}

const SECRET_WORDS = new Set(['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'credential', 'credentials']);
// A trailing word that makes the name a reference to a secret rather than the secret itself.
const REFERENCE_WORDS = new Set(['name', 'names', 'ref', 'file', 'path', 'dir', 'uri', 'url', 'id']);

const HINT =
  'store the value in a Kubernetes Secret and reference it with spec.model.credentials.secretName (its keys are mounted for the sidecar at /var/run/secrets/modelpin/credentials)';

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

function hasAwsKeyId(s: string): boolean {
  return (s.includes('AKIA') || s.includes('ASIA')) && AWS_KEY_ID_RE.test(s);
}

// Keys a spec has (field names, label and annotation keys, env names, cluster names) and their
// typos; not a whole line of YAML that a broken indentation or quote turned into one key.
const PLAIN_KEY_RE = /^[^\x00-\x1f\x7f{}[\],:#"'`]{1,253}$/;

/**
 * A mapping key as a message may quote it: `"key"`, or a description when the key is not a plain
 * name (a broken spec can turn a whole line, secret and all, into a key) or holds a credential.
 */
export function quoteKey(key: string): string {
  return PLAIN_KEY_RE.test(key) && !containsCredential(key) ? JSON.stringify(key) : `(a ${key.length}-character key, not shown)`;
}

/** Text that carries a credential wherever it appears in it: an AWS access key id, or userinfo in a URI. */
export function containsCredential(s: string): boolean {
  // Stricter than the spec scan (any user@, ssh://git@ included): this decides what a message may repeat.
  return hasAwsKeyId(s) || (s.includes('@') && s.includes('://') && /[a-z][a-z0-9+.-]*:\/\/[^/?#\s@]+@/i.test(s));
}

// Every secret-looking name holds one of these in its letters and digits, lowercased (each of
// SECRET_WORDS does, and so do the *key suffixes below).
const SECRET_FRAGMENTS = ['pass', 'secret', 'token', 'key', 'credential'];

/** The name's ASCII letters and digits, lowercased: `words(name).join('')`, without regexes. */
function compactLower(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a)) out += name[i];
    else if (c >= 0x41 && c <= 0x5a) out += String.fromCharCode(c + 0x20);
  }
  return out;
}

/** True for names like password, secretAccessKey, apiKey, AWS_SESSION_TOKEN, MLFLOW_TRACKING_PASSWORD. */
export function looksSecretName(name: string): boolean {
  const compact = compactLower(name);
  if (!SECRET_FRAGMENTS.some((f) => compact.includes(f))) return false;
  const ws = words(name);
  if (ws.length === 0) return false;
  if (REFERENCE_WORDS.has(ws[ws.length - 1]!)) return false;
  if (ws.some((w) => SECRET_WORDS.has(w))) return true;
  const joined = ws.join('');
  return /(apikey|accesskey|privatekey|secretkey)$/.test(joined) && !/accesskeyid$/.test(joined);
}

function nonEmptyScalar(v: unknown): boolean {
  return (typeof v === 'string' && v.trim() !== '') || typeof v === 'number';
}

export function scanCredentials(value: unknown, loc: Locator, file: string): Problem[] {
  const out: Problem[] = [];
  const report = (path: PathSeg[], message: string): void => {
    const w = loc.locate(path);
    out.push({ code: 'MODELPIN_E_SPEC_INLINE_CREDENTIAL', message, hint: HINT, file, ...(w.line === undefined ? {} : { line: w.line, col: w.col }), path: w.path });
  };
  const visit = (v: unknown, path: PathSeg[]): void => {
    if (typeof v === 'string') {
      if (hasAwsKeyId(v)) report(path, 'this value contains an AWS access key id (AKIA…/ASIA…); credentials do not belong in the spec');
      else if (hasUserinfoCredential(v)) report(path, 'this URI carries credentials in its user part (user:password@); credentials do not belong in the spec');
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, [...path, i]));
      return;
    }
    if (!isPlainObject(v)) return;
    // An env entry {name: AWS_SECRET_ACCESS_KEY, value: ...}.
    if (typeof v.name === 'string' && 'value' in v && looksSecretName(v.name) && nonEmptyScalar(v.value)) {
      report([...path, 'value'], `environment variable ${v.name} carries a literal secret value`);
    }
    for (const [k, x] of Object.entries(v)) {
      if (hasAwsKeyId(k)) report([...path, k], 'this key contains an AWS access key id (AKIA…/ASIA…)');
      if (looksSecretName(k) && nonEmptyScalar(x)) report([...path, k], `field \`${k}\` carries a literal secret value`);
      else visit(x, [...path, k]);
    }
  };
  visit(value, []);
  return out;
}

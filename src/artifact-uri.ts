// Artifact URIs: where a model's bytes live. Pure parsing; fetching is the sidecar's job.
//   file:///abs/path, /abs/path, ./rel/path      local file (plain paths only outside a spec;
//                                                 resolveLocalUri makes relative ones absolute)
//   https://host/path, http://host/path           HTTP(S)
//   s3://bucket/key[?versionId=...]               S3 or S3-compatible (MinIO)
//   models:/name/<version>, models:/name@alias, models:/name/latest   MLflow model registry
//   oci://registry[:port]/repository@sha256:<manifest digest>[?title=…|?mediaType=…]   one layer of
//     an OCI manifest (ORAS artifacts); oci://registry/repository:tag names a moving tag (lock pins it)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelpinError, type Location } from './errors.js';

export type ArtifactRef =
  | { readonly scheme: 'file'; readonly path: string }
  | { readonly scheme: 'http' | 'https'; readonly url: string }
  | { readonly scheme: 's3'; readonly bucket: string; readonly key: string; readonly versionId?: string }
  | MlflowRef
  | OciRef;

/**
 * One layer of an OCI image or artifact manifest. `digest` pins the manifest (the bytes the registry
 * serves for it are hashed and compared); `tag` is the moving form that `lock` resolves. `title`
 * (the layer's org.opencontainers.image.title annotation) or `mediaType` choose the layer when the
 * manifest has several; without them the choice is made by a fixed rule (see sidecar/sources/oci).
 */
export interface OciRef {
  readonly scheme: 'oci';
  /** host[:port], lower case, as written (docker.io is mapped to its API host by the source). */
  readonly registry: string;
  readonly repository: string;
  readonly digest?: string;
  readonly tag?: string;
  readonly title?: string;
  readonly mediaType?: string;
}

export type MlflowRef =
  | { readonly scheme: 'models'; readonly name: string; readonly kind: 'version'; readonly version: string }
  | { readonly scheme: 'models'; readonly name: string; readonly kind: 'alias'; readonly alias: string }
  | { readonly scheme: 'models'; readonly name: string; readonly kind: 'latest' };

// S3 bucket naming rules (3-63 chars, lowercase, digits, dots, hyphens).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bad(uri: string, why: string, hint: string, where: Location, shown = redactBeforeAt(uri)): ModelpinError {
  return new ModelpinError('MODELPIN_E_SPEC_URI', `invalid artifact URI "${shown}": ${why}`, { hint, location: where });
}

// A URI starts with a scheme; anything else is a local path.
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** A local path written without a scheme: /abs/model.onnx, ./model.onnx, model.onnx, models/m.onnx. */
export function isPlainPath(uri: string): boolean {
  const s = uri.trim();
  return s !== '' && !SCHEME_RE.test(s);
}

/**
 * For commands run where the user is (fetch, serve, lock --uri): a plain path, relative ones
 * included, becomes the file:// URI of that file, resolved against `cwd`; anything else is
 * returned as given. A spec never goes through here: the pod does not share the user's working
 * directory, so a spec refuses relative paths (src/spec/checks.ts).
 */
export function resolveLocalUri(uri: string, cwd: string): string {
  return isPlainPath(uri) ? pathToFileURL(resolve(cwd, uri.trim())).href : uri;
}

export function parseArtifactUri(uri: string, where: Location = {}): ArtifactRef {
  const s = uri.trim();
  if (s === '') throw bad(uri, 'it is empty', 'set it to s3://bucket/key, https://..., file:///path or models:/name/<version>', where);
  // new URL('file:model.onnx') silently means /model.onnx.
  if (/^file:(?!\/\/)/i.test(s)) throw bad(uri, 'a file URI is absolute: file:///path (three slashes)', 'write file:///absolute/path, or the plain path without file:', where);

  if (s.startsWith('/') || s.startsWith('./') || s.startsWith('../')) return Object.freeze({ scheme: 'file', path: s });

  if (s.startsWith('models:/')) return parseModelsUri(s, where);
  if (/^oci:/i.test(s)) return parseOciUri(s, where);

  let u: URL;
  try {
    u = new URL(s);
  } catch {
    // Not a URI at all: repeat only its scheme (a mangled user:token@ is no longer recognisable as one).
    throw bad(uri, 'it is not a URI', 'use s3://bucket/key, https://host/path, file:///abs/path or models:/name/<version>', where, `${SCHEME_RE.exec(s)?.[0] ?? ''}…`);
  }
  // The URL parser forgives https:host/path and https:./x (host "."); a spec should not rely on that.
  if ((u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 's3:') && !/^[a-z0-9+.-]+:\/\/[^/]/i.test(s)) {
    throw bad(uri, `expected ${u.protocol}//<host>/<path>`, `write it as ${u.protocol}//${u.protocol === 's3:' ? '<bucket>/<key>' : '<host>/<path>'}`, where);
  }
  if (u.username !== '' || u.password !== '') {
    throw new ModelpinError('MODELPIN_E_SPEC_INLINE_CREDENTIAL', `artifact URI "${redactUserInfo(s)}" carries credentials in its user part`, {
      hint: 'remove them from the URI and reference a Kubernetes Secret with spec.model.credentials.secretName',
      location: where,
    });
  }
  switch (u.protocol) {
    case 'file:':
      if (u.host !== '') throw bad(uri, `file URIs take no host ("${u.host}")`, 'write file:///absolute/path (three slashes)', where);
      return Object.freeze({ scheme: 'file', path: decodePath(uri, u.pathname, where) });
    case 'http:':
    case 'https:':
      if (u.hash !== '') throw bad(uri, 'it has a #fragment', 'remove the fragment', where);
      return Object.freeze({ scheme: u.protocol === 'https:' ? 'https' : 'http', url: u.toString() });
    case 's3:': {
      const bucket = u.host;
      const key = decodePath(uri, u.pathname.replace(/^\//, ''), where);
      if (!BUCKET_RE.test(bucket)) throw bad(uri, `"${bucket}" is not a valid S3 bucket name`, 'use s3://<bucket>/<key> with a lowercase bucket name', where);
      if (key === '' || key.endsWith('/')) throw bad(uri, 'it names no object key', 'point at one object, e.g. s3://bucket/models/fraud/7/model.onnx', where);
      // Most URIs have no query; URLSearchParams is built on first access (a cost in every render).
      const params = u.search === '' ? [] : [...u.searchParams.keys()];
      const unknown = params.filter((p) => p !== 'versionId');
      if (unknown.length > 0) throw bad(uri, `unknown query parameter "${unknown[0]}"`, 'the only query parameter is ?versionId=<id>', where);
      const versionId = params.length === 0 ? null : u.searchParams.get('versionId');
      if (versionId === '') throw bad(uri, 'versionId is empty', 'remove ?versionId= or give the object version id', where);
      return Object.freeze(versionId === null ? { scheme: 's3', bucket, key } : { scheme: 's3', bucket, key, versionId });
    }
    default:
      throw bad(uri, `unsupported scheme "${u.protocol.replace(/:$/, '')}"`, 'use one of s3://, https://, http://, file://, models:/ or oci://', where);
  }
}

/** decodeURIComponent, with a malformed %-escape (`fr%ud`) as a user error instead of a URIError. */
function decodePath(uri: string, encoded: string, where: Location): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw bad(uri, 'it has a "%" that is not a %-escape (% followed by two hex digits)', 'write a literal "%" as %25', where);
  }
}

function parseModelsUri(s: string, where: Location): MlflowRef {
  const rest = s.slice('models:/'.length);
  const at = rest.indexOf('@');
  if (at >= 0) {
    const name = rest.slice(0, at);
    const alias = rest.slice(at + 1);
    if (name === '' || alias === '' || alias.includes('/')) throw bad(s, 'expected models:/<name>@<alias>', 'e.g. models:/fraud-detector@champion', where);
    return Object.freeze({ scheme: 'models', name, kind: 'alias', alias });
  }
  const slash = rest.lastIndexOf('/');
  const name = rest.slice(0, slash);
  const ver = rest.slice(slash + 1);
  if (slash <= 0 || ver === '') throw bad(s, 'expected models:/<name>/<version>, models:/<name>/latest or models:/<name>@<alias>', 'e.g. models:/fraud-detector/7', where);
  if (ver === 'latest') return Object.freeze({ scheme: 'models', name, kind: 'latest' });
  if (!/^[1-9][0-9]*$/.test(ver)) throw bad(s, `"${ver}" is not a model version number`, 'use a positive integer version, "latest", or @alias', where);
  return Object.freeze({ scheme: 'models', name, kind: 'version', version: ver });
}

// The distribution spec's reference grammar (github.com/distribution/reference): a repository is
// path components of lower-case alphanumerics joined by one separator (., _, __ or dashes); a tag
// is at most 128 word characters, dots and dashes, not starting with either.
const OCI_HOST_RE = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?$/;
const OCI_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const OCI_TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const OCI_DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const OCI_MAX_NAME = 255;

function parseOciUri(s: string, where: Location): OciRef {
  const example = 'e.g. oci://ghcr.io/acme/fraud@sha256:<64 hex> (or :<tag> for modelpin lock)';
  if (!s.startsWith('oci://')) throw bad(s, 'expected oci://<registry>/<repository>', example, where);
  let rest = s.slice('oci://'.length);
  if (rest.includes('#')) throw bad(s, 'it has a #fragment', 'remove the fragment', where);
  const q = rest.indexOf('?');
  const query = q >= 0 ? rest.slice(q + 1) : undefined;
  if (q >= 0) rest = rest.slice(0, q);
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  if (authority.includes('@')) {
    throw new ModelpinError('MODELPIN_E_SPEC_INLINE_CREDENTIAL', `artifact URI "${redactUserInfo(s)}" carries credentials in its user part`, {
      hint: 'remove them from the URI and reference a Kubernetes Secret (username/password or .dockerconfigjson) with spec.model.credentials.secretName',
      location: where,
    });
  }
  const registry = authority.toLowerCase();
  const host = OCI_HOST_RE.exec(registry);
  if (!host || (host[1] !== undefined && (Number(host[1]) < 1 || Number(host[1]) > 65535))) {
    throw bad(s, `"${authority}" is not a registry host[:port]`, example, where);
  }
  if (slash < 0 || slash === rest.length - 1) throw bad(s, 'it names no repository', example, where);
  let name = rest.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!OCI_DIGEST_RE.test(digest)) {
      throw bad(s, `"${digest}" is not a sha256 manifest digest`, 'write @sha256:<64 lowercase hex>; run `modelpin lock` on the :tag form to get it', where);
    }
  }
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!OCI_TAG_RE.test(tag)) throw bad(s, `"${tag}" is not a valid tag`, 'a tag is up to 128 letters, digits, _, . and -, not starting with . or -', where);
    if (digest !== undefined) {
      throw bad(s, 'it names both a tag and a digest', 'keep only @sha256:<digest> (the pin); `modelpin lock` remembers the tag in the modelpin.dev/track annotation', where);
    }
  }
  if (digest === undefined && tag === undefined) throw bad(s, 'it names neither a digest nor a tag', example, where);
  if (name.length > OCI_MAX_NAME || !name.split('/').every((c) => OCI_COMPONENT_RE.test(c))) {
    throw bad(s, `"${name}" is not a valid repository name`, 'repository names are lower-case path components (letters, digits, and . _ __ - between them)', where);
  }
  const sel: { title?: string; mediaType?: string } = {};
  // Split by hand: URLSearchParams would read the + of "tar+gzip" as a space.
  for (const part of query === undefined || query === '' ? [] : query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq >= 0 ? part.slice(0, eq) : part;
    let v: string;
    try {
      v = decodeURIComponent(eq >= 0 ? part.slice(eq + 1) : '');
    } catch {
      throw bad(s, `the value of ${k} is not valid percent-encoding`, 'write the title or media type as is, or percent-encode it correctly', where);
    }
    if (k !== 'title' && k !== 'mediaType') throw bad(s, `unknown query parameter "${k}"`, 'the query may only choose the layer: ?title=<file name> or ?mediaType=<type>', where);
    if (v === '') throw bad(s, `${k} is empty`, `remove ?${k}= or give a value`, where);
    if (sel[k] !== undefined) throw bad(s, `${k} is given twice`, 'give each layer selector once', where);
    sel[k] = v;
  }
  return Object.freeze({
    scheme: 'oci',
    registry,
    repository: name,
    ...(digest === undefined ? {} : { digest }),
    ...(tag === undefined ? {} : { tag }),
    ...sel,
  });
}

/** oci:// URI of the same layer pinned to a manifest digest (what `lock` writes). */
export function pinOciRef(ref: OciRef, manifestDigest: string): OciRef {
  const { tag: _tag, ...rest } = ref;
  return Object.freeze({ ...rest, digest: manifestDigest });
}

/** Canonical string form (used for cache keys and for writing a locked spec). */
export function formatArtifactUri(ref: ArtifactRef): string {
  switch (ref.scheme) {
    case 'file':
      return ref.path.startsWith('/') ? `file://${ref.path}` : ref.path;
    case 'http':
    case 'https':
      return ref.url;
    case 's3':
      return `s3://${ref.bucket}/${ref.key}${ref.versionId === undefined ? '' : `?versionId=${encodeURIComponent(ref.versionId)}`}`;
    case 'models':
      return ref.kind === 'version' ? `models:/${ref.name}/${ref.version}` : ref.kind === 'alias' ? `models:/${ref.name}@${ref.alias}` : `models:/${ref.name}/latest`;
    case 'oci': {
      const q = [
        ...(ref.title === undefined ? [] : [`title=${queryEscape(ref.title)}`]),
        ...(ref.mediaType === undefined ? [] : [`mediaType=${queryEscape(ref.mediaType)}`]),
      ];
      const at = ref.digest !== undefined ? `@${ref.digest}` : `:${ref.tag ?? ''}`;
      return `oci://${ref.registry}/${ref.repository}${at}${q.length ? `?${q.join('&')}` : ''}`;
    }
  }
}

/** Escape only what would change how the query splits, so media types stay readable. */
function queryEscape(v: string): string {
  return v.replace(/[%&#=?\s]/g, (c) => encodeURIComponent(c));
}

/** True when the reference names bytes that cannot change under it (a lock is stable). */
export function isImmutableRef(ref: ArtifactRef): boolean {
  if (ref.scheme === 's3') return ref.versionId !== undefined;
  if (ref.scheme === 'models') return ref.kind === 'version';
  if (ref.scheme === 'oci') return ref.digest !== undefined;
  return false;
}

/**
 * For error messages: whatever sits before an "@" after the scheme may be a credential, even when
 * a stray # or ? keeps the URL parser (and so the credential check) from calling it userinfo.
 */
export function redactBeforeAt(uri: string): string {
  return uri.includes('@') ? uri.replace(/^([a-z][a-z0-9+.-]*:(?:\/\/)?)?[^@]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`) : uri;
}

/** For logs: never print user:password@ even from a rejected URI. */
export function redactUserInfo(uri: string): string {
  return uri.replace(/^([a-z0-9+.-]+:\/\/)[^/@]*@/i, '$1***@');
}

// Reading a manifest a registry served, and choosing the one layer that is the model. Pure
// functions over bytes, so they can be fuzzed: a registry is an input like any other.
// Accepted: OCI image manifests (what ORAS 1.1+ pushes, artifactType set), OCI artifact manifests
// (ORAS 1.0: `blobs` instead of `layers`) and Docker v2 manifests. An index (multi-platform) is
// refused: a model has no platform, so the URI must name one manifest.
import { ModelpinError } from '../../../src/errors.js';

export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
export const MAX_LAYERS = 1000;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/** What we ask for: every manifest type we read, plus the index types so we can say why we refuse them. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_ARTIFACT_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST].join(', ');

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Manifest {
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly layers: readonly Descriptor[];
}

export interface LayerSelector {
  readonly title?: string;
  readonly mediaType?: string;
}

function bad(where: string, why: string, hint = 'push the model as an OCI artifact (e.g. `oras push` or `modelpin publish`) and pin that manifest'): ModelpinError {
  return new ModelpinError('MODELPIN_E_OCI_MANIFEST', `the manifest of ${where} ${why}`, { hint });
}

/** Media type without parameters, lower case ("application/json; charset=utf-8" → "application/json"). */
function bareType(t: string | undefined): string | undefined {
  const v = t?.split(';')[0]?.trim().toLowerCase();
  return v === '' ? undefined : v;
}

/**
 * Parse and check a manifest. `contentType` is the registry's Content-Type header: it decides the
 * type when the document carries none, and must agree with it when both are present.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, where: string): Manifest {
  if (bytes.byteLength > MANIFEST_MAX_BYTES) throw bad(where, `is ${bytes.byteLength} bytes, more than the limit of ${MANIFEST_MAX_BYTES}`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw bad(where, `is not JSON (${(e as Error).message.slice(0, 120)})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw bad(where, 'is not a JSON object');
  const m = doc as Record<string, unknown>;
  const declared = typeof m.mediaType === 'string' ? bareType(m.mediaType) : undefined;
  if (m.mediaType !== undefined && typeof m.mediaType !== 'string') throw bad(where, 'has a mediaType that is not a string');
  const header = bareType(contentType);
  const known = (t: string | undefined) => t === OCI_MANIFEST || t === OCI_ARTIFACT_MANIFEST || t === DOCKER_MANIFEST || t === OCI_INDEX || t === DOCKER_LIST;
  if (declared !== undefined && known(header) && header !== declared) {
    throw bad(where, `says mediaType ${declared} but the registry served it as ${header}`);
  }
  const mediaType = declared ?? (known(header) ? header : undefined);
  if (mediaType === undefined) {
    throw bad(where, `has no recognised media type (document: ${declared ?? 'none'}, Content-Type: ${header ?? 'none'})`);
  }
  if (mediaType === OCI_INDEX || mediaType === DOCKER_LIST) {
    throw bad(where, `is an image index (${mediaType}), not a single manifest`, 'a model has no platform: pin the digest of one manifest in the index (`oras manifest fetch` shows them)');
  }
  if (mediaType !== OCI_MANIFEST && mediaType !== OCI_ARTIFACT_MANIFEST && mediaType !== DOCKER_MANIFEST) {
    throw bad(where, `has unsupported media type ${mediaType}`);
  }
  if (mediaType !== OCI_ARTIFACT_MANIFEST && m.schemaVersion !== 2) throw bad(where, `has schemaVersion ${JSON.stringify(m.schemaVersion)}, expected 2`);
  const listKey = mediaType === OCI_ARTIFACT_MANIFEST ? 'blobs' : 'layers';
  const list = m[listKey];
  if (!Array.isArray(list)) throw bad(where, `has no "${listKey}" array`);
  if (list.length === 0) throw bad(where, `has no ${listKey}: there is no file to fetch`);
  if (list.length > MAX_LAYERS) throw bad(where, `has ${list.length} ${listKey}, more than ${MAX_LAYERS}`);
  const layers = list.map((d, i) => descriptor(d, `${listKey}[${i}]`, where));
  const artifactType = typeof m.artifactType === 'string' ? m.artifactType : undefined;
  return Object.freeze({ mediaType, ...(artifactType === undefined ? {} : { artifactType }), layers: Object.freeze(layers) });
}

function descriptor(d: unknown, at: string, where: string): Descriptor {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw bad(where, `has ${at} that is not an object`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== 'string' || o.mediaType === '') throw bad(where, `has ${at} without a mediaType`);
  if (typeof o.digest !== 'string' || !DIGEST_RE.test(o.digest)) {
    throw bad(where, `has ${at} whose digest ${JSON.stringify(String(o.digest).slice(0, 80))} is not sha256:<64 lowercase hex>`, 'modelpin verifies sha256 only; push the layer with a sha256 digest');
  }
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw bad(where, `has ${at} with an invalid size ${JSON.stringify(o.size)}`);
  const annotations: Record<string, string> = {};
  if (o.annotations !== undefined) {
    if (o.annotations === null || typeof o.annotations !== 'object' || Array.isArray(o.annotations)) throw bad(where, `has ${at} whose annotations are not an object`);
    for (const [k, v] of Object.entries(o.annotations as Record<string, unknown>)) {
      if (typeof v !== 'string') throw bad(where, `has ${at} whose annotation ${JSON.stringify(k)} is not a string`);
      annotations[k] = v;
    }
  }
  return Object.freeze({ mediaType: o.mediaType, digest: o.digest, size: o.size, annotations: Object.freeze(annotations) });
}

function label(d: Descriptor): string {
  const t = d.annotations[TITLE_ANNOTATION];
  return `${t === undefined ? '(untitled)' : JSON.stringify(t)} ${d.mediaType} ${d.digest.slice(0, 19)}…`;
}

const TAR_RE = /\.(tar|tar\.gz|tgz)$/i;

/**
 * The layer that is the model. With a selector (?title=, ?mediaType=) exactly one layer must match.
 * Without one: the only layer; else the one titled model.onnx; else the only *.onnx; else the only
 * tar. Anything else is ambiguous and refused, so lock and every pod always choose the same bytes.
 */
export function selectLayer(m: Manifest, sel: LayerSelector, where: string): Descriptor {
  const title = (d: Descriptor) => d.annotations[TITLE_ANNOTATION];
  const list = (ds: readonly Descriptor[]) => ds.slice(0, 10).map(label).join('; ') + (ds.length > 10 ? `; … ${ds.length - 10} more` : '');
  if (sel.title !== undefined || sel.mediaType !== undefined) {
    const hits = m.layers.filter((d) => (sel.title === undefined || title(d) === sel.title) && (sel.mediaType === undefined || d.mediaType === sel.mediaType));
    const what = [sel.title === undefined ? '' : `title ${JSON.stringify(sel.title)}`, sel.mediaType === undefined ? '' : `media type ${sel.mediaType}`].filter(Boolean).join(' and ');
    if (hits.length === 1) return hits[0]!;
    throw new ModelpinError('MODELPIN_E_OCI_LAYER', `${where}: ${hits.length === 0 ? 'no layer has' : `${hits.length} layers have`} ${what}; layers: ${list(m.layers)}`, {
      hint: hits.length === 0 ? 'fix ?title= / ?mediaType= in the URI to name one of the layers listed' : 'add the other selector (?title= and ?mediaType=) so exactly one layer matches',
    });
  }
  if (m.layers.length === 1) return m.layers[0]!;
  const rules: [string, (d: Descriptor) => boolean][] = [
    ['titled model.onnx', (d) => title(d) === 'model.onnx'],
    ['titled *.onnx', (d) => title(d)?.toLowerCase().endsWith('.onnx') === true],
    ['titled *.tar / *.tar.gz', (d) => TAR_RE.test(title(d) ?? '')],
  ];
  for (const [, test] of rules) {
    const hits = m.layers.filter(test);
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) break;
  }
  throw new ModelpinError('MODELPIN_E_OCI_LAYER', `${where} has ${m.layers.length} layers and none is unambiguously the model: ${list(m.layers)}`, {
    hint: 'choose one in the URI with ?title=<file name> (its org.opencontainers.image.title) or ?mediaType=<type>',
  });
}

// Resolving an artifact URI to an immutable reference + digest + size: the store-specific part of
// `modelpin lock` and of render-time resolution. Cheap answers first (a full-object checksum the
// store already holds, a digest tag written by `modelpin publish`), a streaming hash otherwise;
// `maxDownloadBytes` bounds that download (render-time resolution sets it).
// Static on purpose: this module is itself loaded lazily, and esbuild's interop for a dynamic
// import() of the CJS AWS SDK loses the named exports.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { formatArtifactUri, parseArtifactUri, type ArtifactRef, type MlflowRef } from '../../artifact-uri.js';
import { isDigest } from '../../digest.js';
import { ModelpinError } from '../../errors.js';
import type { Logger } from '../../../sidecar/log.js';
import type { ModelVersion, MlflowClient } from '../../../sidecar/sources/mlflow.js';
import type { SourceContext } from '../../../sidecar/sources/types.js';
import { hashRef, hashSource } from './hash.js';

/** Model-version tags written by `modelpin publish --register` and read by lock/resolve. */
export const DIGEST_TAG = 'modelpin.digest';
export const SIZE_TAG = 'modelpin.size';

export interface ResolveDeps {
  env: NodeJS.ProcessEnv;
  log: Logger;
  credentialsDir?: string;
  caFile?: string;
  /** Tracking server for models:/ URIs when MLFLOW_TRACKING_URI is not set (spec.gates.mlflow.trackingUri). */
  trackingUri?: string;
  /** A full download larger than this is refused with MODELPIN_E_RESOLVE_TOO_LARGE. */
  maxDownloadBytes?: number;
  /** Digests already computed for immutable references (render-time resolution's on-disk cache). */
  cache?: DigestCache;
}

/** Keyed by an immutable reference (s3 with versionId, models:/name/<version>); never by a mutable one. */
export interface DigestCache {
  get(immutableUri: string): Promise<{ digest: string; size?: number } | undefined>;
  put(immutableUri: string, value: { digest: string; size?: number }): Promise<void>;
}

export type DigestSource = 's3-checksum' | 'mlflow-tag' | 'oci-manifest' | 'download' | 'cache';

export interface Resolution {
  /** The immutable form when the store has one (s3 ?versionId=, models:/name/<version>). */
  uri: string;
  digest: string;
  size?: number;
  how: DigestSource;
  /** The MLflow run behind a registry version (for promotion gates). */
  runId?: string;
  modelVersion?: ModelVersion;
}

function sourceCtx(deps: ResolveDeps): SourceContext {
  return { env: deps.env, log: deps.log, ...(deps.credentialsDir ? { credentialsDir: deps.credentialsDir } : {}), ...(deps.caFile ? { caFile: deps.caFile } : {}) };
}

function tooLarge(what: string, size: number | undefined, max: number): ModelpinError {
  return new ModelpinError(
    'MODELPIN_E_RESOLVE_TOO_LARGE',
    `pinning ${what} at render time needs a full download${size === undefined ? '' : ` of ${size} bytes`}, more than the limit of ${max} bytes`,
    { hint: 'run `modelpin lock` and commit the pinned spec (or publish with `modelpin publish`, which stores a checksum the store can answer cheaply)' },
  );
}

/** Streaming hash bounded by maxDownloadBytes; a size overrun becomes RESOLVE_TOO_LARGE. */
async function boundedHash(what: string, run: (maxBytes: number | undefined) => Promise<{ digest: string; size: number }>, deps: ResolveDeps) {
  try {
    return await run(deps.maxDownloadBytes);
  } catch (e) {
    if (deps.maxDownloadBytes !== undefined && e instanceof ModelpinError && e.code === 'MODELPIN_E_SIZE_EXCEEDED') throw tooLarge(what, undefined, deps.maxDownloadBytes);
    throw e;
  }
}

export async function resolveArtifact(uri: string, deps: ResolveDeps): Promise<Resolution> {
  const ref = parseArtifactUri(uri, { path: 'spec.model.uri' });
  switch (ref.scheme) {
    case 's3':
      return resolveS3(ref, deps);
    case 'models':
      return resolveModels(ref, deps);
    case 'oci': {
      // The manifest names the layer's digest and size: no download (oci.ts).
      const { resolveOci } = await import('./oci.js');
      return resolveOci(ref, deps);
    }
    default: {
      const what = formatArtifactUri(ref);
      const h = await boundedHash(what, (maxBytes) => hashRef(ref, { ctx: sourceCtx(deps), ...(maxBytes === undefined ? {} : { maxBytes }) }), deps);
      return { uri: formatArtifactUri(ref), digest: h.digest, size: h.size, how: 'download' };
    }
  }
}

/**
 * A base64 ChecksumSHA256 that covers the whole object. Multipart uploads get a composite checksum
 * (a hash of the part hashes, written `<base64>-<parts>`), which is not the object's SHA-256.
 */
export function fullObjectSha256(checksum: string | undefined, checksumType: string | undefined): string | undefined {
  if (!checksum) return undefined;
  if (checksumType !== undefined && checksumType !== 'FULL_OBJECT') return undefined;
  if (/-\d+$/.test(checksum)) return undefined;
  const bytes = Buffer.from(checksum, 'base64');
  if (bytes.length !== 32) return undefined;
  return `sha256:${bytes.toString('hex')}`;
}

async function resolveS3(ref: Extract<ArtifactRef, { scheme: 's3' }>, deps: ResolveDeps): Promise<Resolution> {
  const [{ createS3Client }, { s3Error }] = await Promise.all([
    import('../../../sidecar/sources/s3-client.js'),
    import('../../../sidecar/sources/s3.js'),
  ]);
  const client = createS3Client({ env: deps.env, ...(deps.credentialsDir ? { credentialsDir: deps.credentialsDir } : {}) });
  try {
    let head;
    try {
      head = await client.send(
        new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...(ref.versionId ? { VersionId: ref.versionId } : {}), ChecksumMode: 'ENABLED' }),
      );
    } catch (e) {
      throw s3Error(e, formatArtifactUri(ref));
    }
    // An unversioned bucket answers no VersionId (or the literal "null" once versioning was suspended).
    const versionId = ref.versionId ?? (head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined);
    const pinned: ArtifactRef = versionId ? { ...ref, versionId } : ref;
    const size = head.ContentLength;
    const cached = versionId && deps.cache ? await deps.cache.get(formatArtifactUri(pinned)) : undefined;
    if (cached) return { uri: formatArtifactUri(pinned), ...cached, how: 'cache' };
    const fromChecksum = fullObjectSha256(head.ChecksumSHA256, head.ChecksumType);
    if (fromChecksum) return { uri: formatArtifactUri(pinned), digest: fromChecksum, ...(size === undefined ? {} : { size }), how: 's3-checksum' };
    if (deps.maxDownloadBytes !== undefined && size !== undefined && size > deps.maxDownloadBytes) throw tooLarge(formatArtifactUri(pinned), size, deps.maxDownloadBytes);
    const { s3Source } = await import('../../../sidecar/sources/s3.js');
    const what = formatArtifactUri(pinned);
    const h = await boundedHash(what, (maxBytes) => hashSource(s3Source(pinned, sourceCtx(deps), { client }), deps.log, maxBytes === undefined ? {} : { maxBytes }), deps);
    if (versionId && deps.cache) await deps.cache.put(what, { digest: h.digest, size: h.size });
    return { uri: formatArtifactUri(pinned), digest: h.digest, size: h.size, how: 'download' };
  } finally {
    client.destroy();
  }
}

export async function mlflowClientFor(deps: Pick<ResolveDeps, 'env' | 'credentialsDir' | 'caFile' | 'trackingUri'>, trackingUri?: string): Promise<MlflowClient> {
  const { createMlflowClient } = await import('../../../sidecar/sources/mlflow.js');
  const uri = trackingUri ?? (deps.env.MLFLOW_TRACKING_URI || deps.trackingUri);
  return createMlflowClient({
    env: deps.env,
    ...(uri ? { trackingUri: uri } : {}),
    ...(deps.credentialsDir ? { credentialsDir: deps.credentialsDir } : {}),
    ...(deps.caFile ? { caFile: deps.caFile } : {}),
  });
}

async function resolveModels(ref: MlflowRef, deps: ResolveDeps): Promise<Resolution> {
  const { locateModelVersion, proxySource } = await import('../../../sidecar/sources/mlflow.js');
  const client = await mlflowClientFor(deps);
  const v = await client.resolve(ref);
  const uri = formatArtifactUri({ scheme: 'models', name: v.name, kind: 'version', version: v.version });
  const base = { uri, ...(v.runId ? { runId: v.runId } : {}), modelVersion: v };
  const tagged = v.tags[DIGEST_TAG];
  if (tagged !== undefined) {
    if (!isDigest(tagged)) {
      throw new ModelpinError('MODELPIN_E_MLFLOW', `model version ${v.name}/${v.version} has a malformed ${DIGEST_TAG} tag "${tagged.slice(0, 80)}"`, {
        hint: `fix or delete the tag in MLflow; it must be sha256:<64 hex> (modelpin publish --register writes it)`,
      });
    }
    const sizeTag = v.tags[SIZE_TAG];
    const size = sizeTag !== undefined && /^\d+$/.test(sizeTag) ? Number(sizeTag) : undefined;
    return { ...base, digest: tagged, ...(size === undefined ? {} : { size }), how: 'mlflow-tag' };
  }
  const cached = deps.cache ? await deps.cache.get(uri) : undefined;
  if (cached) return { ...base, ...cached, how: 'cache' };
  // A version's source never changes in MLflow, so locating by the concrete version is stable.
  const located = await locateModelVersion(
    client,
    { scheme: 'models', name: v.name, kind: 'version', version: v.version },
    { s3: { env: deps.env, ...(deps.credentialsDir ? { credentialsDir: deps.credentialsDir } : {}) } },
  );
  const ctx = sourceCtx(deps);
  const h = await boundedHash(
    uri,
    async (maxBytes) => {
      const opts = maxBytes === undefined ? {} : { maxBytes };
      if (located.target.kind === 'proxy') return hashSource(await proxySource(client, located.target.path, ctx), deps.log, opts);
      return hashRef(located.target.ref, { ctx, ...opts });
    },
    deps,
  );
  if (deps.cache) await deps.cache.put(uri, { digest: h.digest, size: h.size });
  return { ...base, digest: h.digest, size: h.size, how: 'download' };
}

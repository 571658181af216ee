// The pinning workflow for OCI registries.
//   lock:    oci://registry/repo:tag (or @sha256:…) → the manifest, hashed here, then the chosen
//            layer's digest and size from it. No download: the registry addresses blobs by digest,
//            and every pod hashes the layer again before using it.
//   publish: push a file as an ORAS-compatible artifact (the empty config, one layer titled with
//            the file name, the manifest under the tag), so `oras pull` gets the file back.
// The manifest carries no timestamp, so publishing the same file twice gives the same digest.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { formatArtifactUri, pinOciRef, type OciRef } from '../../artifact-uri.js';
import { formatDigest } from '../../digest.js';
import { ModelpinError } from '../../errors.js';
import type { Logger } from '../../../sidecar/log.js';
import type { Resolution } from './artifact.js';
import { hashLocalFile } from './hash.js';

export interface OciDeps {
  env: NodeJS.ProcessEnv;
  log?: Logger;
  credentialsDir?: string;
  caFile?: string;
}

/** The ORAS conventions: artifactType, the empty config descriptor, the title annotation. */
export const ARTIFACT_TYPE = 'application/vnd.modelpin.model.v1';
export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2, data: 'e30=' } as const;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** Monolithic PUT up to this size, chunked PATCHes above it (the distribution spec allows both). */
export const DEFAULT_OCI_CHUNKED_THRESHOLD = 1024 * 1024 * 1024;
export const DEFAULT_OCI_CHUNK_SIZE = 64 * 1024 * 1024;

function clientOptions(deps: OciDeps) {
  return { env: deps.env, ...(deps.credentialsDir ? { credentialsDir: deps.credentialsDir } : {}), ...(deps.caFile ? { caFile: deps.caFile } : {}) };
}

/** A transient registry failure outside the fetch engine (lock, publish) is reported, not retried. */
async function coded<T>(what: string, code: 'MODELPIN_E_FETCH_NETWORK' | 'MODELPIN_E_PUBLISH', fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ModelpinError) throw e;
    throw new ModelpinError(code, `${what}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'the registry failed or is unreachable; retry, or check its health', cause: e });
  }
}

export async function resolveOci(ref: OciRef, deps: OciDeps): Promise<Resolution> {
  const [{ RegistryClient }, { resolveLayer }] = await Promise.all([import('../../../sidecar/sources/oci/registry-client.js'), import('../../../sidecar/sources/oci/source.js')]);
  const client = new RegistryClient(ref, clientOptions(deps));
  try {
    const r = await coded(`resolving ${formatArtifactUri(ref)}`, 'MODELPIN_E_FETCH_NETWORK', () => resolveLayer(client, ref, AbortSignal.timeout(120_000)));
    return { uri: formatArtifactUri(pinOciRef(ref, r.manifestDigest)), digest: r.layer.digest, size: r.layer.size, how: 'oci-manifest' };
  } finally {
    await client.close();
  }
}

/** Layer media type by file name; `oras pull` ignores it, a tar format model is recognisable by it. */
export function layerMediaType(file: string): string {
  const f = file.toLowerCase();
  if (f.endsWith('.tar.gz') || f.endsWith('.tgz')) return 'application/vnd.oci.image.layer.v1.tar+gzip';
  if (f.endsWith('.tar')) return 'application/vnd.oci.image.layer.v1.tar';
  if (f.endsWith('.onnx')) return 'application/vnd.modelpin.model.onnx';
  return 'application/octet-stream';
}

/** The manifest bytes `publish` pushes; deterministic (sorted keys are not needed: the order is fixed here). */
export function artifactManifest(layer: { digest: string; size: number; mediaType: string; title: string }): Buffer {
  const m = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ARTIFACT_TYPE,
    config: EMPTY_CONFIG,
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size, annotations: { 'org.opencontainers.image.title': layer.title } }],
  };
  return Buffer.from(JSON.stringify(m));
}

export interface OciPublishOptions extends OciDeps {
  file: string;
  ref: OciRef;
  /** Above this many bytes, chunked upload (default 1 GiB). */
  chunkedThreshold?: number;
  /** Chunk size of a chunked upload (default: the threshold, at most 64 MiB). */
  chunkSize?: number;
}

export interface OciPublishResult {
  /** oci://registry/repo@sha256:<manifest> (what lock writes). */
  uri: string;
  /** oci://registry/repo:<tag> (what the spec tracks). */
  tagUri: string;
  manifestDigest: string;
  /** The layer's digest: spec.model.digest. */
  digest: string;
  size: number;
  upload: 'exists' | 'monolithic' | 'chunked';
}


export async function publishOci(opts: OciPublishOptions): Promise<OciPublishResult> {
  const { ref } = opts;
  if (ref.tag === undefined || ref.digest !== undefined) {
    throw new ModelpinError('MODELPIN_E_USAGE', `publish pushes to a tag, oci://registry/repository:<tag>, not "${formatArtifactUri(ref)}"`, {
      hint: 'e.g. modelpin publish model.onnx oci://ghcr.io/acme/fraud:v7',
    });
  }
  if (ref.mediaType !== undefined) throw new ModelpinError('MODELPIN_E_USAGE', 'publish chooses the layer media type itself; drop ?mediaType= from the URI');
  const title = ref.title ?? basename(opts.file);
  const { hex, size } = await hashLocalFile(opts.file);
  const digest = formatDigest(hex);
  const { RegistryClient } = await import('../../../sidecar/sources/oci/registry-client.js');
  const client = new RegistryClient(ref, clientOptions(opts));
  const what = `publishing ${opts.file} to ${formatArtifactUri(ref)}`;
  try {
    const threshold = opts.chunkedThreshold ?? DEFAULT_OCI_CHUNKED_THRESHOLD;
    const upload = await coded(what, 'MODELPIN_E_PUBLISH', () =>
      client.uploadBlob(digest, size, (start, end) => (end - start === 0 ? new Uint8Array(0) : createReadStream(opts.file, { start, end: end - 1 })), size > threshold ? (opts.chunkSize ?? Math.min(DEFAULT_OCI_CHUNK_SIZE, threshold)) : Math.max(size, 1)),
    );
    await coded(what, 'MODELPIN_E_PUBLISH', () => client.uploadBlob(EMPTY_CONFIG.digest, EMPTY_CONFIG.size, () => Buffer.from('{}'), 1024));
    const manifest = artifactManifest({ digest, size, mediaType: layerMediaType(title), title });
    const manifestDigest = await coded(what, 'MODELPIN_E_PUBLISH', () => client.putManifest(ref.tag!, manifest, OCI_MANIFEST));
    const pinned = pinOciRef(ref.title === undefined ? ref : { ...ref }, manifestDigest);
    return { uri: formatArtifactUri(pinned), tagUri: formatArtifactUri(ref), manifestDigest, digest, size, upload };
  } finally {
    await client.close();
  }
}

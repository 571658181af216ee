// `modelpin publish <file> <s3-uri>`: upload a trained model so that its pin is cheap to resolve
// later. The file is hashed locally first; a single PUT (up to the multipart threshold) then
// carries that SHA-256 as x-amz-checksum-sha256, so the store verifies the bytes on arrival and
// keeps a full-object checksum that `lock` and render-time resolution read with one HeadObject.
// Larger files go through lib-storage's multipart Upload: S3 offers only a composite SHA-256 for
// multipart (full-object checksums exist only for the CRC family), so lock hashes those by
// streaming, unless the version is registered in MLflow, whose modelpin.digest tag answers instead.
import { createReadStream } from 'node:fs';
// Static on purpose (this module is loaded lazily; a dynamic import() of the CJS SDK loses its named exports when bundled).
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { formatArtifactUri, parseArtifactUri } from '../../artifact-uri.js';
import { formatDigest } from '../../digest.js';
import { ModelpinError } from '../../errors.js';
import { DIGEST_TAG, SIZE_TAG } from './artifact.js';

export const DEFAULT_MULTIPART_THRESHOLD = 1024 * 1024 * 1024; // 1 GiB: single PUT below (S3 allows up to 5 GiB)
const MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024;

export interface PublishOptions {
  file: string;
  uri: string;
  env: NodeJS.ProcessEnv;
  credentialsDir?: string;
  caFile?: string;
  multipartThreshold?: number;
  partSize?: number;
  /** Register an MLflow model version (source = the uploaded object) in this registered model. */
  register?: string;
  /** The MLflow run that produced the model (links the version to its metrics for gates). */
  runId?: string;
  /** Point this alias at the new version. */
  alias?: string;
  trackingUri?: string;
}

export interface PublishResult {
  /** s3://bucket/key, with ?versionId= when the bucket is versioned; oci://registry/repo@sha256:<manifest>. */
  uri: string;
  /** OCI only: the tag pushed (oci://registry/repo:tag), which lock follows (modelpin.dev/track). */
  tagUri?: string;
  /** OCI only: the manifest digest (the layer's digest is `digest`). */
  manifestDigest?: string;
  digest: string;
  size: number;
  versionId?: string;
  multipart: boolean;
  /** models:/name/<version> when registered. */
  modelUri?: string;
  modelVersion?: string;
}

/** 5 MiB (the S3 minimum) to 64 MiB parts, at least 2 parts, and never more than 10,000 parts. */
export function multipartPartSize(size: number): number {
  const MiB = 1024 * 1024;
  const byCount = Math.ceil(size / 9000);
  return Math.max(5 * MiB, Math.min(64 * MiB, Math.ceil(size / 2)), byCount);
}

async function hashFile(file: string): Promise<{ hex: string; size: number }> {
  const fh = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new ModelpinError('MODELPIN_E_USAGE', `cannot read ${file}: ${e.code ?? e.message}`, { hint: 'pass the path of the model file to publish' });
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ModelpinError('MODELPIN_E_USAGE', `${file} is not a regular file`, { hint: 'publish one file (an .onnx model or a .tar/.tar.gz archive)' });
    const h = createHash('sha256');
    for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
    return { hex: h.digest('hex'), size: st.size };
  } finally {
    await fh.close();
  }
}

export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const ref = parseArtifactUri(opts.uri, { path: '<s3-uri>' });
  if (ref.scheme === 'oci') return publishToRegistry(opts, ref);
  if (ref.scheme !== 's3' || ref.versionId !== undefined) {
    throw new ModelpinError('MODELPIN_E_USAGE', `publish uploads to s3://bucket/key or oci://registry/repository:tag, not "${opts.uri}"`, {
      hint: 'e.g. modelpin publish model.onnx s3://models/fraud/7/model.onnx (or oci://ghcr.io/acme/fraud:v7)',
    });
  }
  const { hex, size } = await hashFile(opts.file);
  const digest = formatDigest(hex);
  const threshold = Math.min(opts.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD, MAX_SINGLE_PUT);
  const multipart = size > threshold;

  const { createS3Client } = await import('../../../sidecar/sources/s3-client.js');
  const client = createS3Client({ env: opts.env, ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}) });
  let versionId: string | undefined;
  // Informational copy of the digest (not trusted by lock: anyone with write access sets metadata).
  const metadata = { 'modelpin-digest': digest };
  try {
    if (!multipart) {
      const out = await client.send(
        new PutObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          Body: createReadStream(opts.file),
          ContentLength: size,
          ChecksumSHA256: Buffer.from(hex, 'hex').toString('base64'),
          Metadata: metadata,
        }),
      );
      versionId = out.VersionId;
    } else {
      const upload = new Upload({
        client,
        params: { Bucket: ref.bucket, Key: ref.key, Body: createReadStream(opts.file), ChecksumAlgorithm: 'SHA256', Metadata: metadata },
        partSize: opts.partSize ?? multipartPartSize(size),
        queueSize: 4,
        leavePartsOnError: false,
      });
      const out = await upload.done();
      versionId = out.VersionId;
    }
  } catch (e) {
    if (e instanceof ModelpinError) throw e;
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = err.$metadata?.httpStatusCode;
    throw new ModelpinError('MODELPIN_E_PUBLISH', `uploading ${opts.file} to ${formatArtifactUri(ref)} failed: ${err.name ?? 'Error'}: ${err.message ?? String(e)}`, {
      hint:
        status === 403 || err.name === 'AccessDenied'
          ? 'check the S3 credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or --credentials-dir) and the bucket policy'
          : err.name === 'NoSuchBucket'
            ? 'create the bucket first (enable versioning so pins are immutable)'
            : 'check AWS_ENDPOINT_URL / AWS_REGION and retry; nothing was registered or pinned',
      cause: e,
    });
  } finally {
    client.destroy();
  }
  if (versionId === 'null') versionId = undefined;
  const uri = formatArtifactUri({ ...ref, ...(versionId ? { versionId } : {}) });
  const result: PublishResult = { uri, digest, size, ...(versionId ? { versionId } : {}), multipart };

  if (opts.register !== undefined) {
    const { mlflowClientFor } = await import('./artifact.js');
    const mlflow = await mlflowClientFor({ env: opts.env, ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}), ...(opts.caFile ? { caFile: opts.caFile } : {}) }, opts.trackingUri);
    await mlflow.ensureRegisteredModel(opts.register);
    // The source is the exact object version, so the registry can never point at other bytes.
    const mv = await mlflow.createModelVersion(opts.register, uri, {
      ...(opts.runId ? { runId: opts.runId } : {}),
      tags: { [DIGEST_TAG]: digest, [SIZE_TAG]: String(size) },
      description: `published by modelpin: ${digest}`,
    });
    if (opts.alias) await mlflow.setAlias(opts.register, opts.alias, mv.version);
    result.modelVersion = mv.version;
    result.modelUri = formatArtifactUri({ scheme: 'models', name: mv.name, kind: 'version', version: mv.version });
  }
  return result;
}

/** `publish` to an OCI registry (oci.ts); --register does not apply (MLflow versions point at S3). */
async function publishToRegistry(opts: PublishOptions, ref: Extract<ReturnType<typeof parseArtifactUri>, { scheme: 'oci' }>): Promise<PublishResult> {
  if (opts.register !== undefined) {
    throw new ModelpinError('MODELPIN_E_USAGE', '--register applies to s3:// uploads; an OCI artifact is already pinned by its manifest digest', { hint: 'drop --register, or publish to s3:// to register an MLflow version' });
  }
  const { publishOci } = await import('./oci.js');
  const r = await publishOci({
    file: opts.file,
    ref,
    env: opts.env,
    ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}),
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
    ...(opts.multipartThreshold !== undefined ? { chunkedThreshold: opts.multipartThreshold } : {}),
    ...(opts.partSize !== undefined ? { chunkSize: opts.partSize } : {}),
  });
  return { uri: r.uri, tagUri: r.tagUri, manifestDigest: r.manifestDigest, digest: r.digest, size: r.size, multipart: r.upload === 'chunked' };
}

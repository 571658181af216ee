// `modelpin publish <file> <s3-uri>`: upload a trained model so that its pin is cheap to resolve
// later. The file is hashed locally first; a single PUT (up to the multipart threshold) then
// carries that SHA-256 as x-amz-checksum-sha256, so the store verifies the bytes on arrival and
// keeps a full-object checksum that `lock` and render-time resolution read with one HeadObject.
// Larger files go through lib-storage's multipart Upload: S3 offers only a composite SHA-256 for
// multipart (full-object checksums exist only for the CRC family), so lock hashes those by
// streaming, unless the version is registered in MLflow, whose modelpin.digest tag answers instead.
// Order matters: everything that can refuse without changing anything (the file, the spec to pin,
// its promotion gates, the MLflow run) is checked before the upload, so a model that fails its gate
// leaves the bucket, the registry and the alias untouched. A failure after the upload says exactly
// what had already been created.
import { createReadStream } from 'node:fs';
// Static on purpose (this module is loaded lazily; a dynamic import() of the CJS SDK loses its named exports when bundled).
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatArtifactUri, parseArtifactUri, type ArtifactRef } from '../../artifact-uri.js';
import { formatDigest } from '../../digest.js';
import { ModelpinError } from '../../errors.js';
import type { FieldChange } from '../../pin/plan.js';
import type { GateEvaluation } from '../../pin/gates.js';
import { DIGEST_TAG, SIZE_TAG } from './artifact.js';
import { hashLocalFile } from './hash.js';
import type { PreparedLock } from './lock.js';

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
  /**
   * Pin this spec (file or directory) to what was published, exactly as `modelpin lock --uri <ref>`
   * would: <ref> is models:/<register>@<alias> with an alias (tracked from then on), the new
   * models:/<register>/<version> without one, else the S3 key (tracked when the bucket is versioned).
   */
  pin?: string;
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
  /** With `pin`: the spec file and what changed in it. */
  pinned?: { file: string; changed: boolean; changes: readonly FieldChange[] };
  /** With `pin` and spec.gates: the gate results (all passed). */
  gates?: GateEvaluation;
}

/** 5 MiB (the S3 minimum) to 64 MiB parts, at least 2 parts, and never more than 10,000 parts. */
export function multipartPartSize(size: number): number {
  const MiB = 1024 * 1024;
  const byCount = Math.ceil(size / 9000);
  return Math.max(5 * MiB, Math.min(64 * MiB, Math.ceil(size / 2)), byCount);
}


export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const ref = parseArtifactUri(opts.uri, { path: '<s3-uri>' });
  if (ref.scheme === 'oci') return publishToRegistry(opts, ref);
  if (ref.scheme !== 's3' || ref.versionId !== undefined) {
    throw new ModelpinError('MODELPIN_E_USAGE', `publish uploads to s3://bucket/key or oci://registry/repository:tag, not "${opts.uri}"`, {
      hint: 'e.g. modelpin publish model.onnx s3://models/fraud/7/model.onnx (or oci://ghcr.io/acme/fraud:v7)',
    });
  }
  const { hex, size } = await hashLocalFile(opts.file);
  const digest = formatDigest(hex);
  const deps = { env: opts.env, ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}), ...(opts.caFile ? { caFile: opts.caFile } : {}) };

  // Before any side effect: the spec to pin (readable, valid, writable) and its promotion gates,
  // which read the metrics of the run that produced the model (--run-id, else the spec's
  // provenance.mlflowRunId), and the run a registered version will link to.
  let pin: { prepared: PreparedLock; gates?: GateEvaluation } | undefined;
  if (opts.pin !== undefined) pin = await preparePin(opts, ref, deps);
  const mlflow = opts.register === undefined ? undefined : await registryFor(opts, deps);
  if (mlflow && opts.runId !== undefined) await mustHaveRun(mlflow, opts.runId);

  const done: string[] = [];
  try {
    const uploaded = await upload(opts, ref, hex, size, digest);
    const uri = formatArtifactUri({ ...ref, ...(uploaded.versionId ? { versionId: uploaded.versionId } : {}) });
    done.push(`uploaded ${uri}`);
    const result: PublishResult = { uri, digest, size, ...(uploaded.versionId ? { versionId: uploaded.versionId } : {}), multipart: uploaded.multipart };

    if (mlflow && opts.register !== undefined) {
      await mlflow.ensureRegisteredModel(opts.register);
      // The source is the exact object version, so the registry can never point at other bytes.
      const mv = await mlflow.createModelVersion(opts.register, uri, {
        ...(opts.runId ? { runId: opts.runId } : {}),
        tags: { [DIGEST_TAG]: digest, [SIZE_TAG]: String(size) },
        description: `published by modelpin: ${digest}`,
      });
      result.modelVersion = mv.version;
      result.modelUri = formatArtifactUri({ scheme: 'models', name: mv.name, kind: 'version', version: mv.version });
      done.push(`registered ${result.modelUri}`);
      if (opts.alias) {
        await mlflow.setAlias(opts.register, opts.alias, mv.version);
        done.push(`pointed models:/${opts.register}@${opts.alias} at version ${mv.version}`);
      }
    }

    if (pin) {
      const { writePin } = await import('./lock.js');
      // Without an alias the new version itself is the reference (nothing to follow later).
      const prepared = opts.register !== undefined && !opts.alias ? { ...pin.prepared, source: result.modelUri! } : pin.prepared;
      result.pinned = await writePin(prepared, { uri: result.modelUri ?? result.uri, digest, size });
      if (pin.gates) result.gates = pin.gates;
    }
    return result;
  } catch (e) {
    throw afterSideEffects(e, done);
  }
}

/** The reference publish --pin pins from (what `lock --uri` would be given), and the gates on it. */
async function preparePin(opts: PublishOptions, ref: ArtifactRef, deps: { env: NodeJS.ProcessEnv; credentialsDir?: string; caFile?: string }) {
  const { prepareLock, checkGates } = await import('./lock.js');
  const source =
    opts.register === undefined
      ? formatArtifactUri(ref)
      : opts.alias
        ? formatArtifactUri({ scheme: 'models', name: opts.register, kind: 'alias', alias: opts.alias })
        : undefined; // the new version, known once registered
  const prepared = await prepareLock(opts.pin!, source);
  for (const path of [prepared.file, dirname(prepared.file)]) {
    await access(path, constants.W_OK).catch((e: NodeJS.ErrnoException) => {
      throw new ModelpinError('MODELPIN_E_SPEC_WRITE', `cannot write ${path} (${e.code ?? e.message}), so the pin could not be written; nothing was uploaded`, {
        hint: 'make the spec file and its directory writable (the pin is written to a temp file beside it, then renamed over it)',
        location: { file: prepared.file },
      });
    });
  }
  const target = opts.register === undefined ? formatArtifactUri(ref) : `a new version of models:/${opts.register}`;
  const gates = await checkGates(prepared.spec, { uri: `${opts.file} (to be published as ${target})`, ...(opts.runId ? { runId: opts.runId } : {}) }, deps, 'refusing to publish: nothing was uploaded, registered or pinned');
  return { prepared, ...(gates ? { gates } : {}) };
}

async function registryFor(opts: PublishOptions, deps: { env: NodeJS.ProcessEnv; credentialsDir?: string; caFile?: string }) {
  const { mlflowClientFor } = await import('./artifact.js');
  return mlflowClientFor(deps, opts.trackingUri);
}

/** A version linked to a run that does not exist would fail after the upload; ask first. */
async function mustHaveRun(mlflow: import('../../../sidecar/sources/mlflow.js').MlflowClient, runId: string): Promise<void> {
  const { MlflowApiError } = await import('../../../sidecar/sources/mlflow.js');
  try {
    await mlflow.getRun(runId);
  } catch (e) {
    if (!(e instanceof MlflowApiError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw e;
    throw new ModelpinError('MODELPIN_E_USAGE', `--run-id ${runId}: no such run on ${mlflow.trackingUri}; nothing was uploaded`, {
      hint: 'pass the id of the MLflow run that trained this model (mlflow.active_run().info.run_id)',
    });
  }
}

async function upload(opts: PublishOptions, ref: Extract<ArtifactRef, { scheme: 's3' }>, hex: string, size: number, digest: string): Promise<{ versionId?: string; multipart: boolean }> {
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
      const up = new Upload({
        client,
        params: { Bucket: ref.bucket, Key: ref.key, Body: createReadStream(opts.file), ChecksumAlgorithm: 'SHA256', Metadata: metadata },
        partSize: opts.partSize ?? multipartPartSize(size),
        queueSize: 4,
        leavePartsOnError: false,
      });
      const out = await up.done();
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
  // An unversioned bucket answers no VersionId (or the literal "null" once versioning was suspended).
  return { ...(versionId && versionId !== 'null' ? { versionId } : {}), multipart };
}

/** A failure after the upload: the same error, saying what already exists (nothing is rolled back). */
function afterSideEffects(e: unknown, done: readonly string[]): unknown {
  if (done.length === 0) return e;
  const already = `publish had already ${done.join(', then ')}; nothing else was changed`;
  if (e instanceof ModelpinError) {
    const [first, ...rest] = e.problems;
    return new ModelpinError(e.code, `${e.message} (${already})`, { problems: [{ ...first!, message: `${first!.message} (${already})` }, ...rest], cause: e });
  }
  return new ModelpinError('MODELPIN_E_INTERNAL', `${e instanceof Error ? e.message : String(e)} (${already})`, { cause: e });
}

/** `publish` to an OCI registry (oci.ts); --register does not apply (MLflow versions point at S3). */
async function publishToRegistry(opts: PublishOptions, ref: Extract<ReturnType<typeof parseArtifactUri>, { scheme: 'oci' }>): Promise<PublishResult> {
  if (opts.register !== undefined) {
    throw new ModelpinError('MODELPIN_E_USAGE', '--register applies to s3:// uploads; an OCI artifact is already pinned by its manifest digest', { hint: 'drop --register, or publish to s3:// to register an MLflow version' });
  }
  const deps = { env: opts.env, ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}), ...(opts.caFile ? { caFile: opts.caFile } : {}) };
  // As for S3: the spec and its gates first, so a failing gate pushes nothing. The tag is the
  // reference lock follows (modelpin.dev/track), the manifest digest the pin.
  const pin = opts.pin !== undefined ? await preparePin(opts, ref, deps) : undefined;
  const { publishOci } = await import('./oci.js');
  const r = await publishOci({
    file: opts.file,
    ref,
    ...deps,
    ...(opts.multipartThreshold !== undefined ? { chunkedThreshold: opts.multipartThreshold } : {}),
    ...(opts.partSize !== undefined ? { chunkSize: opts.partSize } : {}),
  });
  const result: PublishResult = { uri: r.uri, tagUri: r.tagUri, manifestDigest: r.manifestDigest, digest: r.digest, size: r.size, multipart: r.upload === 'chunked' };
  if (pin) {
    try {
      const { writePin } = await import('./lock.js');
      result.pinned = await writePin(pin.prepared, { uri: r.uri, digest: r.digest, size: r.size });
      if (pin.gates) result.gates = pin.gates;
    } catch (e) {
      throw afterSideEffects(e, [`pushed ${r.uri} (tag ${r.tagUri})`]);
    }
  }
  return result;
}

// s3://bucket/key[?versionId=] via @aws-sdk/client-s3. HeadObject gives the size (so large
// objects can be fetched with parallel ranged GETs) and the ETag, which pins every later range
// to the same object version with If-Match even when no versionId was given.
import { GetObjectCommand, HeadObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { formatArtifactUri } from '../../src/artifact-uri.js';
import { ModelpinError } from '../../src/errors.js';
import { parseContentRange } from './http.js';
import { classifyNetworkError, isAbortError } from './net-errors.js';
import { createS3Client } from './s3-client.js';
import { RetryableError, type Opened, type Source, type SourceContext } from './types.js';

export interface S3Ref {
  bucket: string;
  key: string;
  versionId?: string;
}

export function s3Source(ref: S3Ref, ctx: SourceContext, opts: { idleTimeoutMs?: number; client?: S3Client } = {}): Source {
  const describe = formatArtifactUri({ scheme: 's3', ...ref });
  const client =
    opts.client ??
    createS3Client({ env: ctx.env, ...(ctx.credentialsDir ? { credentialsDir: ctx.credentialsDir } : {}), idleTimeoutMs: opts.idleTimeoutMs ?? ctx.idleTimeoutMs ?? 60_000 });
  let etag: string | undefined;
  const base = { Bucket: ref.bucket, Key: ref.key, ...(ref.versionId ? { VersionId: ref.versionId } : {}) };

  async function get(range: string | undefined, signal: AbortSignal): Promise<GetObjectCommandOutput> {
    try {
      return await client.send(new GetObjectCommand({ ...base, ...(range ? { Range: range } : {}), ...(etag ? { IfMatch: etag } : {}) }), { abortSignal: signal });
    } catch (e) {
      throw s3Error(e, describe);
    }
  }

  function opened(out: GetObjectCommandOutput, requested: number): Opened {
    const body = out.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    if (!body) throw new RetryableError(`${describe}: GetObject returned no body`);
    if (!etag && out.ETag) etag = out.ETag;
    const destroy = () => body.destroy?.();
    const cr = parseContentRange(out.ContentRange);
    if (cr) return { body, start: cr.start, ...(cr.total === undefined ? {} : { totalSize: cr.total }), destroy };
    // No Content-Range: the whole object (a range request the server ignored, or offset 0).
    void requested;
    return { body, start: 0, ...(out.ContentLength === undefined ? {} : { totalSize: out.ContentLength }), destroy };
  }

  return {
    describe,
    async stat(signal) {
      try {
        const head = await client.send(new HeadObjectCommand(base), { abortSignal: signal });
        if (head.ETag) etag = head.ETag;
        return head.ContentLength === undefined ? {} : { size: head.ContentLength };
      } catch (e) {
        throw s3Error(e, describe);
      }
    },
    async open(offset, signal) {
      return opened(await get(offset > 0 ? `bytes=${offset}-` : undefined, signal), offset);
    },
    async readRange(start, end, signal) {
      return opened(await get(`bytes=${start}-${end - 1}`, signal), start);
    },
    async close() {
      if (!opts.client) client.destroy();
    },
  };
}

/** Map SDK errors to modelpin's: permanent (denied, missing) vs transient (5xx, network). */
export function s3Error(e: unknown, describe: string): unknown {
  if (e instanceof ModelpinError || e instanceof RetryableError || isAbortError(e)) return e;
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; Code?: string };
  const name = err.name ?? '';
  const status = err.$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || name === 'NoSuchVersion' || status === 404) {
    return new ModelpinError('MODELPIN_E_FETCH_NOT_FOUND', `${describe} does not exist (${name || 'HTTP 404'})`, {
      hint: 'check bucket, key and versionId; `aws s3 ls` with the same credentials shows what exists',
    });
  }
  if (
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'ExpiredToken' ||
    name === 'InvalidToken' ||
    name === 'Forbidden' ||
    status === 401 ||
    status === 403
  ) {
    return new ModelpinError('MODELPIN_E_FETCH_DENIED', `${describe}: access denied (${name || `HTTP ${status}`})`, {
      hint: 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the credentials Secret (or the pod role) and the bucket policy',
    });
  }
  if (name === 'CredentialsProviderError') {
    return new ModelpinError('MODELPIN_E_FETCH_DENIED', `${describe}: no AWS credentials found (${err.message ?? ''})`, {
      hint: 'mount a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (spec.model.credentials.secretName) or give the pod a role (IRSA)',
    });
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return new ModelpinError('MODELPIN_E_FETCH_NETWORK', `${describe} changed while it was being downloaded (ETag no longer matches)`, {
      hint: 'pin the object with ?versionId= so its bytes cannot change, then retry',
    });
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new ModelpinError('MODELPIN_E_FETCH_NETWORK', `${describe}: S3 refused the request (${name || 'HTTP'} ${status}): ${err.message ?? ''}`, {
      hint: 'check the URI, region (AWS_REGION) and endpoint (AWS_ENDPOINT_URL_S3)',
    });
  }
  if (status !== undefined) return new RetryableError(`${describe}: S3 answered ${status} ${name}`, { cause: e });
  return classifyNetworkError(e, describe);
}

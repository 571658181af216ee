// A client for one repository of an OCI registry (distribution spec v2): manifests by tag or
// digest (bounded, and hashed: a manifest fetched by digest must hash to it), blobs (ranged,
// redirects followed without credentials), blob uploads (monolithic or chunked) and manifest
// pushes. One undici Agent; auth and redirects are wrappers around its one dispatch.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import type { OciRef } from '../../../src/artifact-uri.js';
import { ModelpinError } from '../../../src/errors.js';
import { discardBody, followRedirects, headerValue, readBounded, undiciSend, type HttpResponse, type Send } from '../dispatch.js';
import { loadCa } from '../http.js';
import { RetryableError } from '../types.js';
import { readRegistryCredentials, registryAuth, type Credentials } from './auth.js';
import { MANIFEST_ACCEPT, MANIFEST_MAX_BYTES } from './manifest.js';
import { apiRepository, blobUrl, manifestUrl, registryEndpoint, uploadsUrl, type RegistryEndpoint } from './reference.js';

const ERROR_BODY_MAX = 16 * 1024;

export interface RegistryClientOptions {
  env: NodeJS.ProcessEnv;
  credentialsDir?: string;
  caFile?: string;
  /** Headers and body idle timeout (default 60 s). */
  idleTimeoutMs?: number;
  /** Overrides the Secret (tests, publish with explicit credentials). */
  credentials?: Credentials;
}

export interface FetchedManifest {
  bytes: Buffer;
  /** sha256 of the bytes, computed here (never the registry's Docker-Content-Digest). */
  digest: string;
  contentType?: string;
}


export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly repository: string;
  readonly describe: string;
  private readonly agent: Agent;
  private readonly send: Send;

  constructor(ref: Pick<OciRef, 'registry' | 'repository'>, opts: RegistryClientOptions) {
    this.endpoint = registryEndpoint(ref.registry, opts.env);
    this.repository = apiRepository(ref);
    this.describe = `oci://${ref.registry}/${ref.repository}`;
    const idle = opts.idleTimeoutMs ?? 60_000;
    this.agent = new Agent({
      connect: opts.caFile ? { ca: loadCa(opts.caFile) } : {},
      headersTimeout: idle,
      bodyTimeout: idle,
      connectTimeout: Math.min(idle, 30_000),
    });
    const credentials = opts.credentials ?? readRegistryCredentials(opts.credentialsDir, ref.registry);
    const base = undiciSend(this.agent, opts.caFile ? { caFile: opts.caFile } : {});
    const authed = registryAuth(base, { origin: this.endpoint.origin, env: opts.env, describe: this.describe, ...(credentials ? { credentials } : {}) });
    this.send = followRedirects(authed);
  }

  /** GET a manifest by tag or digest; by digest, the bytes must hash to it (MODELPIN_E_DIGEST_MISMATCH). */
  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const where = `${this.describe}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    const res = await this.request({ url: manifestUrl(this.endpoint, this.repository, reference), method: 'GET', headers: { accept: MANIFEST_ACCEPT }, ...(signal ? { signal } : {}) });
    if (res.status !== 200) throw await statusError(res, `manifest ${where}`);
    const announced = Number(headerValue(res.headers['content-length']) ?? NaN);
    if (announced > MANIFEST_MAX_BYTES) {
      discardBody(res.body);
      throw tooLarge(`the manifest of ${where}`, MANIFEST_MAX_BYTES);
    }
    const bytes = await readBounded(res.body, MANIFEST_MAX_BYTES, `the manifest of ${where}`, tooLarge);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new ModelpinError('MODELPIN_E_DIGEST_MISMATCH', `the manifest the registry served for ${where} hashes to ${digest}; nothing was fetched`, {
        hint: 'the registry (or something between it and this pod) altered the manifest; investigate before re-pinning',
      });
    }
    const ct = headerValue(res.headers['content-type']);
    return { bytes, digest, ...(ct ? { contentType: ct } : {}) };
  }

  /** GET a blob, optionally the closed range [start, end]; redirects to storage are followed without credentials. */
  async getBlob(digest: string, range: { start: number; end: number } | undefined, signal: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    // Always a closed range: some registries (go-containerregistry's) refuse `bytes=N-`.
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    const res = await this.request({ url: blobUrl(this.endpoint, this.repository, digest), method: 'GET', headers, signal });
    if (res.status === 200 || res.status === 206) return res;
    throw await statusError(res, `blob ${this.describe}@${digest}`);
  }

  async blobExists(digest: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.request({ url: blobUrl(this.endpoint, this.repository, digest), method: 'HEAD', headers: {}, ...(signal ? { signal } : {}) });
    discardBody(res.body);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await statusError(res, `blob ${this.describe}@${digest}`);
  }

  /**
   * Upload a blob unless the registry has it. Up to `chunkSize` bytes: POST then one PUT with the
   * whole body (monolithic). Larger: PATCH chunks with Content-Range, then PUT ?digest= (chunked).
   * `open(start, end)` gives the bytes [start, end) afresh for each attempt.
   */
  async uploadBlob(digest: string, size: number, open: (start: number, end: number) => Readable | Uint8Array, chunkSize: number, signal?: AbortSignal): Promise<'exists' | 'monolithic' | 'chunked'> {
    if (await this.blobExists(digest, signal)) return 'exists';
    const what = `uploading blob ${digest} to ${this.describe}`;
    const started = await this.request({ url: uploadsUrl(this.endpoint, this.repository), method: 'POST', headers: { 'content-length': '0' }, ...(signal ? { signal } : {}) });
    if (started.status !== 202) throw await statusError(started, what, 'MODELPIN_E_PUBLISH');
    discardBody(started.body);
    let location = this.location(started, what);
    let mode: 'monolithic' | 'chunked' = 'monolithic';
    if (size > chunkSize) {
      mode = 'chunked';
      for (let start = 0; start < size; start += chunkSize) {
        const end = Math.min(size, start + chunkSize);
        const res = await this.request({
          url: location,
          method: 'PATCH',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start), 'content-range': `${start}-${end - 1}` },
          body: bodyOf(() => open(start, end)),
          ...(signal ? { signal } : {}),
        });
        if (res.status !== 202) throw await statusError(res, `${what} (chunk ${start}-${end - 1})`, 'MODELPIN_E_PUBLISH');
        discardBody(res.body);
        location = this.location(res, what);
      }
    }
    const put = new URL(location);
    put.searchParams.append('digest', digest);
    const body = mode === 'monolithic' ? bodyOf(() => open(0, size)) : undefined;
    const res = await this.request({
      url: put,
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(mode === 'monolithic' ? size : 0) },
      ...(body === undefined ? {} : { body }),
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 201) throw await statusError(res, what, 'MODELPIN_E_PUBLISH');
    discardBody(res.body);
    return mode;
  }

  /** PUT a manifest under a tag (or its digest); returns the digest of the bytes sent. */
  async putManifest(reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    const res = await this.request({
      url: manifestUrl(this.endpoint, this.repository, reference),
      method: 'PUT',
      headers: { 'content-type': mediaType, 'content-length': String(bytes.byteLength) },
      body: bytes,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 201 && res.status !== 200) throw await statusError(res, `pushing the manifest ${this.describe}:${reference}`, 'MODELPIN_E_PUBLISH');
    discardBody(res.body);
    return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async request(req: Parameters<Send>[0]): Promise<HttpResponse> {
    return this.send({ ...req, headers: { 'user-agent': 'modelpin', ...req.headers } });
  }

  /** The upload session's next URL: Location, resolved against the registry (it may be relative). */
  private location(res: HttpResponse, what: string): URL {
    const loc = headerValue(res.headers.location);
    if (!loc) throw new ModelpinError('MODELPIN_E_PUBLISH', `${what}: the registry answered ${res.status} without a Location header`);
    try {
      return new URL(loc, this.endpoint.origin);
    } catch {
      throw new ModelpinError('MODELPIN_E_PUBLISH', `${what}: the registry answered an invalid Location`);
    }
  }
}

function bodyOf(open: () => Readable | Uint8Array): Uint8Array | (() => Readable) {
  const first = open();
  if (first instanceof Uint8Array) return first;
  let used = false;
  return () => {
    if (!used) {
      used = true;
      return first;
    }
    return open() as Readable;
  };
}

function tooLarge(what: string, max: number): ModelpinError {
  return new ModelpinError('MODELPIN_E_OCI_MANIFEST', `${what} is larger than the limit of ${max} bytes`, {
    hint: 'a manifest only lists layers; pin the manifest of an OCI artifact (oras push / modelpin publish)',
  });
}

/** The registry's own error code and message ({"errors":[{"code","message"}]}), bounded, for messages. */
async function registryErrorText(res: HttpResponse): Promise<string> {
  try {
    const body = await readBounded(res.body, ERROR_BODY_MAX, 'error body', () => new Error('too large'));
    const j = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const e = j.errors?.[0];
    if (e && typeof e.code === 'string') return `: ${e.code}${typeof e.message === 'string' && e.message !== '' ? ` (${e.message.slice(0, 160)})` : ''}`;
  } catch {
    /* no registry error document */
  }
  return '';
}

/** Map a registry answer to modelpin's errors: permanent ones coded, transient ones retryable. */
export async function statusError(res: HttpResponse, what: string, other: 'MODELPIN_E_FETCH_NETWORK' | 'MODELPIN_E_PUBLISH' = 'MODELPIN_E_FETCH_NETWORK'): Promise<Error> {
  const status = res.status;
  const text = await registryErrorText(res);
  const sameHost = res.url.origin;
  if (status === 401 || status === 403) {
    return new ModelpinError('MODELPIN_E_FETCH_DENIED', `${what}: ${sameHost} answered HTTP ${status}${text}`, {
      hint: 'check the credentials Secret (username/password or .dockerconfigjson; --credentials-dir on the CLI) and its access to this repository',
    });
  }
  if (status === 404) {
    return new ModelpinError('MODELPIN_E_FETCH_NOT_FOUND', `${what} does not exist (HTTP 404${text})`, { hint: 'check registry, repository, tag or digest in the URI (`oras manifest fetch` shows what exists)' });
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) return new RetryableError(`${what}: HTTP ${status}${text}`);
  return new ModelpinError(other, `${what}: the registry answered HTTP ${status}${text}`, { hint: 'check the URI and the registry' });
}

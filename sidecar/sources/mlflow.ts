// MLflow tracking-server client (REST, undici): the model registry (aliases, versions, tags,
// download locations), runs (metrics for promotion gates) and the artifact proxy
// (`/api/2.0/mlflow-artifacts/artifacts/<path>`) through which `mlflow-artifacts:/` locations are
// downloaded. Errors from the server come as `{error_code, message}`; they become
// MODELPIN_E_MLFLOW with the server's message so the user sees what MLflow said.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Agent, request, type Dispatcher } from 'undici';
import { ModelpinError } from '../../src/errors.js';
import { formatArtifactUri, parseArtifactUri, type ArtifactRef, type MlflowRef } from '../../src/artifact-uri.js';
import type { Source, SourceContext } from './types.js';

export interface MlflowClientOptions {
  /** http(s)://host[:port][/prefix]; default env MLFLOW_TRACKING_URI. */
  trackingUri?: string;
  /** A mounted Secret dir with MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME + _PASSWORD. */
  credentialsDir?: string;
  /** Extra PEM CA bundle for an HTTPS tracking server. */
  caFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Per-request header/body timeout for JSON calls. */
  timeoutMs?: number;
}

export interface ModelVersion {
  name: string;
  version: string;
  source: string;
  runId?: string;
  status?: string;
  aliases: string[];
  tags: Record<string, string>;
}

export interface RunInfo {
  runId: string;
  status?: string;
  /** Latest value per metric key (MLflow's runs/get already reports the latest). */
  metrics: Record<string, number>;
}

export interface ArtifactEntry {
  path: string;
  isDir: boolean;
  size?: number;
}

export interface ArtifactStream {
  body: Readable;
  size?: number;
}

interface RawModelVersion {
  name?: string;
  version?: string;
  source?: string;
  run_id?: string;
  status?: string;
  aliases?: string[];
  tags?: { key: string; value: string }[];
}

export class MlflowClient {
  readonly trackingUri: string;
  private readonly authorization: string | undefined;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly timeoutMs: number;

  constructor(trackingUri: string, authorization: string | undefined, dispatcher: Dispatcher | undefined, timeoutMs: number) {
    this.trackingUri = trackingUri.replace(/\/+$/, '');
    this.authorization = authorization;
    this.dispatcher = dispatcher;
    this.timeoutMs = timeoutMs;
  }

  /** Headers for requests to the tracking server; also used for artifact downloads through it. */
  authHeaders(): Record<string, string> {
    return this.authorization === undefined ? {} : { authorization: this.authorization };
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const r = await this.call<{ model_version?: RawModelVersion }>('GET', 'model-versions/get', { name, version });
    return toModelVersion(r.model_version, `model version ${name}/${version}`);
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const r = await this.call<{ model_version?: RawModelVersion }>('GET', 'registered-models/alias', { name, alias });
    return toModelVersion(r.model_version, `alias ${name}@${alias}`);
  }

  /** The highest version number of the registered model (what MLflow means by models:/name/latest). */
  async getLatestVersion(name: string): Promise<ModelVersion> {
    const r = await this.call<{ model_versions?: RawModelVersion[] }>('POST', 'registered-models/get-latest-versions', undefined, { name });
    const versions = (r.model_versions ?? []).map((v) => toModelVersion(v, `latest version of ${name}`));
    const latest = versions.sort((a, b) => Number(b.version) - Number(a.version))[0];
    if (!latest) {
      throw new ModelpinError('MODELPIN_E_MLFLOW', `registered model "${name}" has no versions`, {
        hint: 'register a version first (modelpin publish --register, or mlflow.register_model)',
      });
    }
    return latest;
  }

  /** models:/name/<version>, @alias or /latest → the concrete model version. */
  async resolve(ref: MlflowRef): Promise<ModelVersion> {
    switch (ref.kind) {
      case 'version':
        return this.getModelVersion(ref.name, ref.version);
      case 'alias':
        return this.getModelVersionByAlias(ref.name, ref.alias);
      case 'latest':
        return this.getLatestVersion(ref.name);
    }
  }

  /** Where the version's bytes really are: s3://..., mlflow-artifacts:/..., file://..., https://... */
  async getDownloadUri(name: string, version: string): Promise<string> {
    const r = await this.call<{ artifact_uri?: string }>('GET', 'model-versions/get-download-uri', { name, version });
    if (typeof r.artifact_uri !== 'string' || r.artifact_uri === '') {
      throw new ModelpinError('MODELPIN_E_MLFLOW', `MLflow returned no download location for ${name}/${version}`);
    }
    return r.artifact_uri;
  }

  async getRun(runId: string): Promise<RunInfo> {
    const r = await this.call<{ run?: { info?: { run_id?: string; status?: string }; data?: { metrics?: { key: string; value: number }[] } } }>(
      'GET',
      'runs/get',
      { run_id: runId },
    );
    if (!r.run) throw new ModelpinError('MODELPIN_E_MLFLOW', `MLflow returned no run for run_id ${runId}`);
    const metrics: Record<string, number> = {};
    for (const m of r.run.data?.metrics ?? []) metrics[m.key] = Number(m.value);
    return { runId: r.run.info?.run_id ?? runId, ...(r.run.info?.status ? { status: r.run.info.status } : {}), metrics };
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'model-versions/set-tag', undefined, { name, version, key, value });
  }

  /** Creates the registered model; an existing one is fine (publish registers into it). */
  async ensureRegisteredModel(name: string): Promise<void> {
    try {
      await this.call('POST', 'registered-models/create', undefined, { name });
    } catch (e) {
      if (e instanceof MlflowApiError && e.errorCode === 'RESOURCE_ALREADY_EXISTS') return;
      throw e;
    }
  }

  async createModelVersion(name: string, source: string, opts: { runId?: string; tags?: Record<string, string>; description?: string } = {}): Promise<ModelVersion> {
    const body: Record<string, unknown> = { name, source };
    if (opts.runId) body.run_id = opts.runId;
    if (opts.description) body.description = opts.description;
    if (opts.tags) body.tags = Object.entries(opts.tags).map(([key, value]) => ({ key, value }));
    const r = await this.call<{ model_version?: RawModelVersion }>('POST', 'model-versions/create', undefined, body);
    return toModelVersion(r.model_version, `new version of ${name}`);
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', undefined, { name, alias, version });
  }

  /** URL of an artifact behind the tracking server's artifact proxy. `path` is relative to the artifact root. */
  artifactUrl(path: string): string {
    const clean = path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
    return `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${clean}`;
  }

  /** Directory listing through the artifact proxy; empty for a file or a missing path. */
  async listArtifacts(path: string): Promise<ArtifactEntry[]> {
    const url = `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(path.replace(/^\/+/, ''))}`;
    const r = await this.send<{ files?: { path: string; is_dir?: boolean; file_size?: number | string }[] }>('GET', url);
    return (r.files ?? []).map((f) => ({
      path: f.path,
      isDir: f.is_dir === true,
      ...(f.file_size === undefined ? {} : { size: Number(f.file_size) }),
    }));
  }

  /** Opens an artifact for streaming download through the proxy. Callers hash/verify the bytes. */
  async openArtifact(path: string): Promise<ArtifactStream> {
    const url = this.artifactUrl(path);
    const res = await request(url, {
      method: 'GET',
      headers: this.authHeaders(),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs * 4,
    }).catch((e: unknown) => {
      throw networkError(url, e);
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw artifactError(res.statusCode, path, text);
    }
    const len = res.headers['content-length'];
    const size = typeof len === 'string' && /^\d+$/.test(len) ? Number(len) : undefined;
    return { body: res.body as unknown as Readable, ...(size === undefined ? {} : { size }) };
  }

  private call<T>(method: 'GET' | 'POST', endpoint: string, query?: Record<string, string>, body?: unknown): Promise<T> {
    const qs = query ? '?' + new URLSearchParams(query).toString() : '';
    return this.send<T>(method, `${this.trackingUri}/api/2.0/mlflow/${endpoint}${qs}`, body);
  }

  private async send<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.authHeaders() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (e) {
      throw networkError(url, e);
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.statusCode >= 200 && res.statusCode < 300 && json !== undefined && typeof json === 'object' && json !== null) return json as T;
    const err = (json ?? {}) as { error_code?: string; message?: string };
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new MlflowApiError(err.error_code ?? `HTTP_${res.statusCode}`, `MLflow refused the request (HTTP ${res.statusCode}) at ${redactUrl(url)}: ${err.message ?? text.slice(0, 200)}`, {
        hint: 'set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (env or credentials dir)',
      });
    }
    if (typeof err.error_code === 'string') {
      throw new MlflowApiError(err.error_code, `MLflow ${err.error_code}: ${err.message ?? '(no message)'}`, {
        ...(err.error_code === 'RESOURCE_DOES_NOT_EXIST' ? { hint: 'check the model name, version or alias in the MLflow UI' } : {}),
      });
    }
    throw new MlflowApiError(`HTTP_${res.statusCode}`, `unexpected answer from MLflow (HTTP ${res.statusCode}) at ${redactUrl(url)}: ${text.slice(0, 200)}`, {
      hint: 'check that MLFLOW_TRACKING_URI / gates.mlflow.trackingUri points at an MLflow tracking server',
    });
  }
}

/** An MLflow REST error; `errorCode` is MLflow's own (RESOURCE_DOES_NOT_EXIST, ...). */
export class MlflowApiError extends ModelpinError {
  readonly errorCode: string;
  constructor(errorCode: string, message: string, opts: { hint?: string } = {}) {
    super('MODELPIN_E_MLFLOW', message, opts);
    this.errorCode = errorCode;
  }
}

function toModelVersion(raw: RawModelVersion | undefined, what: string): ModelVersion {
  if (!raw || typeof raw.version !== 'string' || typeof raw.name !== 'string') {
    throw new ModelpinError('MODELPIN_E_MLFLOW', `MLflow returned no model version for ${what}`);
  }
  const tags: Record<string, string> = {};
  for (const t of raw.tags ?? []) tags[t.key] = t.value;
  return {
    name: raw.name,
    version: raw.version,
    source: raw.source ?? '',
    ...(raw.run_id ? { runId: raw.run_id } : {}),
    ...(raw.status ? { status: raw.status } : {}),
    aliases: raw.aliases ?? [],
    tags,
  };
}

function artifactError(status: number, path: string, body: string): ModelpinError {
  if (status === 404) {
    return new ModelpinError('MODELPIN_E_FETCH_NOT_FOUND', `MLflow artifact "${path}" does not exist (HTTP 404)`, {
      hint: 'check the model version\'s artifact location (mlflow models UI) and spec.model.entry',
    });
  }
  if (status === 401 || status === 403) {
    return new ModelpinError('MODELPIN_E_FETCH_DENIED', `MLflow refused the artifact download "${path}" (HTTP ${status})`, {
      hint: 'set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD',
    });
  }
  if (status >= 500) return new ModelpinError('MODELPIN_E_FETCH_NETWORK', `MLflow artifact proxy failed for "${path}" (HTTP ${status})`);
  return new ModelpinError('MODELPIN_E_MLFLOW', `MLflow artifact proxy answered HTTP ${status} for "${path}": ${body.slice(0, 200)}`, {
    hint: 'a 400 usually means the path is a directory: name the file with spec.model.entry',
  });
}

function networkError(url: string, e: unknown): ModelpinError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ModelpinError('MODELPIN_E_MLFLOW', `cannot reach the MLflow tracking server at ${redactUrl(url)}: ${msg}`, {
    hint: 'check MLFLOW_TRACKING_URI / spec.gates.mlflow.trackingUri and that the server is running',
    cause: e,
  });
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

async function readSecretFile(dir: string | undefined, name: string): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  try {
    const v = (await readFile(join(dir, name), 'utf8')).trim();
    return v === '' ? undefined : v;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Auth as the MLflow clients do it: a bearer token, else basic auth. The credentials dir (a
 * mounted Secret) wins over the environment so a pod never picks up a stray laptop variable.
 */
export async function mlflowAuthorization(credentialsDir: string | undefined, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const pick = async (name: string) => (await readSecretFile(credentialsDir, name)) ?? (env[name] || undefined);
  const token = await pick('MLFLOW_TRACKING_TOKEN');
  if (token) return `Bearer ${token}`;
  const user = await pick('MLFLOW_TRACKING_USERNAME');
  const pass = await pick('MLFLOW_TRACKING_PASSWORD');
  if (user !== undefined && pass !== undefined) return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  return undefined;
}

export async function createMlflowClient(opts: MlflowClientOptions = {}): Promise<MlflowClient> {
  const env = opts.env ?? process.env;
  const trackingUri = opts.trackingUri ?? env.MLFLOW_TRACKING_URI;
  if (!trackingUri) {
    throw new ModelpinError('MODELPIN_E_MLFLOW', 'no MLflow tracking server is configured', {
      hint: 'set MLFLOW_TRACKING_URI (or spec.gates.mlflow.trackingUri), e.g. https://mlflow.example.com',
    });
  }
  if (!/^https?:\/\//.test(trackingUri)) {
    throw new ModelpinError('MODELPIN_E_MLFLOW', `MLflow tracking URI "${redactUrl(trackingUri)}" is not an http(s) URL`, {
      hint: 'modelpin talks to a tracking server over REST; use http(s)://host:port',
    });
  }
  const caFile = opts.caFile ?? (env.MLFLOW_TRACKING_SERVER_CERT_PATH || undefined);
  let dispatcher: Dispatcher | undefined;
  if (caFile !== undefined) {
    const { rootCertificates } = await import('node:tls');
    const extra = await readFile(caFile, 'utf8');
    dispatcher = new Agent({ connect: { ca: [...rootCertificates, extra] } });
  }
  return new MlflowClient(trackingUri, await mlflowAuthorization(opts.credentialsDir, env), dispatcher, opts.timeoutMs ?? 30_000);
}

/**
 * Where a download location points, for fetchers: mlflow-artifacts:/ paths go through the
 * tracking server's artifact proxy; s3:// and http(s):// and file:// are fetched directly.
 */
export type DownloadLocation =
  | { kind: 'mlflow-artifacts'; path: string }
  | { kind: 'uri'; uri: string };

export function classifyDownloadUri(uri: string): DownloadLocation {
  if (uri.startsWith('mlflow-artifacts:')) {
    // mlflow-artifacts:/1/<run>/artifacts/model or mlflow-artifacts://host:port/1/<run>/...; the
    // host form names the same server, and we always talk to the configured tracking URI.
    const u = new URL(uri);
    return { kind: 'mlflow-artifacts', path: decodeURIComponent(u.pathname).replace(/^\/+/, '') };
  }
  if (/^(s3|https?|file):/.test(uri) || uri.startsWith('/')) return { kind: 'uri', uri };
  throw new ModelpinError('MODELPIN_E_MLFLOW', `the model version's artifact location "${uri.replace(/\?.*$/, '')}" uses a store modelpin cannot fetch from`, {
    hint: 'register model versions whose source is s3://, https://, file:// or served through the tracking server (--serve-artifacts)',
  });
}

// ---- From a registry version to the file to download ------------------------------------------

/**
 * The bytes a model version stands for: either an artifact URI the other sources read (s3://,
 * https://, file://) or a path behind the tracking server's artifact proxy.
 */
export type VersionTarget =
  | { kind: 'uri'; ref: ArtifactRef; describe: string }
  | { kind: 'proxy'; path: string; describe: string };

export interface LocatedVersion {
  version: ModelVersion;
  target: VersionTarget;
}

/** Files a model version's artifact directory may hold; the one to serve is chosen by pickModelFile. */
const MODEL_FILE_RE = /\.(onnx|tar|tgz|tar\.gz)$/;

/**
 * The artifact location of a version logged with mlflow.<flavor>.log_model is a directory
 * (MLmodel, conda.yaml, model.onnx, ...). modelpin serves one file, chosen deterministically:
 * `model.onnx` (what mlflow.onnx writes), else the only `.onnx` file, else the only tar archive.
 * Anything else is ambiguous and refused, so lock and the sidecar can never pick different files.
 * `modelpin publish --register` avoids the question by registering the file itself.
 */
export function pickModelFile(names: readonly string[], where: string): string {
  if (names.includes('model.onnx')) return 'model.onnx';
  const onnx = names.filter((n) => n.endsWith('.onnx'));
  if (onnx.length === 1) return onnx[0] as string;
  const tars = names.filter((n) => /\.(tar|tgz|tar\.gz)$/.test(n));
  if (onnx.length === 0 && tars.length === 1) return tars[0] as string;
  throw new ModelpinError(
    'MODELPIN_E_MLFLOW',
    `the model version's artifact location ${where} is a directory with ${onnx.length > 1 ? 'several .onnx files' : 'no single model file'} (${names.slice(0, 10).join(', ') || 'empty'})`,
    { hint: 'log the model as model.onnx, or register the file itself: modelpin publish <file> s3://... --register <name>' },
  );
}

export interface LocateOptions {
  /** For probing whether an s3:// location is a "directory" (a key prefix). */
  s3?: { credentialsDir?: string; env: NodeJS.ProcessEnv };
}

/** models:/name/<version|latest|@alias> → the concrete version and the one file that is the model. */
export async function locateModelVersion(client: MlflowClient, ref: MlflowRef, opts: LocateOptions = {}): Promise<LocatedVersion> {
  const version = await client.resolve(ref);
  const downloadUri = await client.getDownloadUri(version.name, version.version);
  const loc = classifyDownloadUri(downloadUri);
  if (loc.kind === 'mlflow-artifacts') {
    const listing = await client.listArtifacts(loc.path);
    if (listing.length === 0) return { version, target: { kind: 'proxy', path: loc.path, describe: `mlflow-artifacts:/${loc.path}` } };
    const file = pickModelFile(listing.filter((e) => !e.isDir).map((e) => baseName(e.path)), `mlflow-artifacts:/${loc.path}`);
    const path = `${loc.path.replace(/\/+$/, '')}/${file}`;
    return { version, target: { kind: 'proxy', path, describe: `mlflow-artifacts:/${path}` } };
  }
  const aref = parseArtifactUri(loc.uri);
  if (aref.scheme === 'models') throw new ModelpinError('MODELPIN_E_MLFLOW', `model version ${version.name}/${version.version} points at another registry URI ${loc.uri}`);
  if (aref.scheme === 'file') {
    const { stat, readdir } = await import('node:fs/promises');
    const st = await stat(aref.path).catch(() => undefined);
    if (st?.isDirectory()) {
      const entries = await readdir(aref.path, { withFileTypes: true });
      const file = pickModelFile(entries.filter((e) => e.isFile()).map((e) => e.name).sort(), aref.path);
      const path = `${aref.path.replace(/\/+$/, '')}/${file}`;
      return { version, target: { kind: 'uri', ref: { scheme: 'file', path }, describe: `file://${path}` } };
    }
  }
  if (aref.scheme === 's3' && aref.versionId === undefined && !MODEL_FILE_RE.test(aref.key) && opts.s3) {
    const names = await listS3Dir(aref.bucket, aref.key, opts.s3);
    if (names.length > 0) {
      const file = pickModelFile(names, formatArtifactUri(aref));
      const s3ref: ArtifactRef = { scheme: 's3', bucket: aref.bucket, key: `${aref.key.replace(/\/+$/, '')}/${file}` };
      return { version, target: { kind: 'uri', ref: s3ref, describe: formatArtifactUri(s3ref) } };
    }
  }
  return { version, target: { kind: 'uri', ref: aref, describe: formatArtifactUri(aref) } };
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

async function listS3Dir(bucket: string, key: string, s3: { credentialsDir?: string; env: NodeJS.ProcessEnv }): Promise<string[]> {
  const { createS3Client } = await import('./s3-client.js');
  const client = createS3Client({ env: s3.env, ...(s3.credentialsDir ? { credentialsDir: s3.credentialsDir } : {}) });
  try {
    const prefix = `${key.replace(/\/+$/, '')}/`;
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', MaxKeys: 1000 }));
    return (out.Contents ?? []).map((o) => (o.Key ?? '').slice(prefix.length)).filter((n) => n !== '').sort();
  } catch {
    // Listing may be forbidden where GetObject is allowed: treat the location as one object.
    return [];
  } finally {
    client.destroy();
  }
}

/** The mlflow-artifacts proxy through the shared HTTP source (retries, resume), with MLflow auth only. */
export async function proxySource(client: MlflowClient, path: string, ctx: SourceContext): Promise<Source> {
  const { httpSource } = await import('./http.js');
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  delete env.MODELPIN_HTTP_TOKEN;
  delete env.MODELPIN_HTTP_AUTHORIZATION;
  const auth = client.authHeaders().authorization;
  if (auth) env.MODELPIN_HTTP_AUTHORIZATION = auth;
  const { credentialsDir: _ignored, ...rest } = ctx;
  return httpSource(client.artifactUrl(path), { ...rest, env });
}

/**
 * The sidecar's models:/ source: resolve the version through the registry (warning when an alias
 * or `latest` is resolved at fetch time: the pinned digest still decides what is accepted), then
 * read the bytes from the version's download location through the ordinary sources.
 */
export async function mlflowSource(
  ref: MlflowRef,
  ctx: SourceContext,
  openSource: (ref: ArtifactRef, ctx: SourceContext) => Promise<Source>,
): Promise<Source> {
  if (ref.kind !== 'version') {
    ctx.log.warn('resolving a moving MLflow reference at fetch time; pin a version with `modelpin lock`', { uri: formatArtifactUri(ref) });
  }
  const client = await createMlflowClient({
    env: ctx.env,
    ...(ctx.credentialsDir ? { credentialsDir: ctx.credentialsDir } : {}),
    ...(ctx.caFile ? { caFile: ctx.caFile } : {}),
  });
  const located = await locateModelVersion(client, ref, { s3: { env: ctx.env, ...(ctx.credentialsDir ? { credentialsDir: ctx.credentialsDir } : {}) } });
  ctx.log.info('resolved MLflow model version', { uri: formatArtifactUri(ref), version: located.version.version, location: located.target.describe });
  return located.target.kind === 'proxy' ? proxySource(client, located.target.path, ctx) : openSource(located.target.ref, ctx);
}

// fetchArtifact: the one code path that brings a pinned artifact into a pod — what
// `modelpin fetch` runs as an init container and what `modelpin serve` runs at start.
//   cache hit  → re-verify (default: hash the bytes again; a tar's extracted tree is compared
//                with the archive) → (signature marker) → done, no network. A mismatch evicts the
//                entry (warning logged) and falls through to a fresh download.
//   cache miss → stream from the source into tmp/, hashing in the same pass → compare digest →
//                verify signature → fsync + rename to sha256/<hex> → extract tar (temp dir + rename)
// Nothing that failed verification is ever renamed into a trusted name, and by default nothing
// is handed on from the cache without being hashed on this start (MODELPIN_CACHE_VERIFY=size
// opts out). With readModel, the bytes handed on are the very buffer that was hashed.
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatArtifactUri, parseArtifactUri, type ArtifactRef } from '../../src/artifact-uri.js';
import { formatDigest, parseDigest } from '../../src/digest.js';
import { ModelpinError } from '../../src/errors.js';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../archive/limits.js';
import {
  blobPath,
  cacheLayout,
  cacheError,
  createTempBlob,
  createTempDir,
  ensureCache,
  extractedPath,
  fileSize,
  sweepTemp,
  writeAtomic,
  type CacheLayout,
  type CacheVerify,
} from '../cache/index.js';
import { silentLogger, type Logger } from '../log.js';
import { createProgress } from '../progress.js';
import { openSource } from '../sources/index.js';
import type { Source, SourceContext } from '../sources/types.js';
import { readWholeFile, sha256File } from '../verify/hash-file.js';
import { decodeSignature, loadPublicKey, verifyFileSignature, type PublicKeyInfo } from '../verify/signature.js';
import { scope } from './deadline.js';
import { download, type Sink } from './download.js';
import { KeptBytes } from './keep.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export type { CacheVerify } from '../cache/index.js';
export type { ArchiveLimits } from '../archive/limits.js';
export type { RetryPolicy } from './retry.js';

export interface FetchOptions {
  uri: string;
  /** sha256:<64 hex>: the pin. */
  digest: string;
  format?: 'onnx' | 'tar';
  /** Path of the .onnx inside a tar (default model.onnx). */
  entry?: string;
  /** Expected size in bytes: bigger downloads are refused early. */
  size?: number;
  cacheDir: string;
  credentialsDir?: string;
  caFile?: string;
  /** Detached signature location; default `<uri>.sig`. Only checked with publicKeyPath. */
  signatureUri?: string;
  /** PEM public key (ECDSA P-256 or Ed25519); enables the signature check. */
  publicKeyPath?: string;
  /** Environment for credentials and tuning (default process.env). */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Progress bar on a TTY / periodic log lines otherwise (default 'auto'); false = silent. */
  progress?: boolean | 'auto';
  signal?: AbortSignal;
  /** Whole fetch, retries included (default 30 min; env MODELPIN_FETCH_TIMEOUT_SECONDS). */
  totalTimeoutMs?: number;
  // ---- tuning (defaults suit pods; tests and benchmarks override) ------------------------
  /** Ranged-GET part size in bytes (default 4 MiB; env MODELPIN_FETCH_PART_SIZE). */
  partSize?: number;
  /** Parallel ranged GETs (default 4; env MODELPIN_FETCH_CONCURRENCY). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** No bytes for this long = transient failure (default 60 s; env MODELPIN_FETCH_IDLE_TIMEOUT_SECONDS). */
  idleTimeoutMs?: number;
  /** How a cache hit is confirmed (default 'rehash'; env MODELPIN_CACHE_VERIFY=rehash|size). */
  cacheVerify?: CacheVerify;
  /**
   * For format onnx: also return the model in memory (FetchResult.modelBytes), read exactly
   * once and hashed in memory, so what ONNX Runtime gets is what was verified.
   */
  readModel?: boolean;
  /** env MODELPIN_ARCHIVE_MAX_ENTRIES / MODELPIN_ARCHIVE_MAX_BYTES. */
  archiveLimits?: Partial<ArchiveLimits>;
}

export interface FetchResult {
  /** What `modelpin fetch` prints: the model file, or for tar the extracted directory. */
  path: string;
  /** The .onnx to load: `path`, or `<dir>/<entry>` for tar. */
  modelFile: string;
  digest: string;
  /** Size of the artifact in bytes. */
  bytes: number;
  /** Bytes transferred by this call (0 on a cache hit). */
  downloadedBytes: number;
  cached: boolean;
  durationMs: number;
  /**
   * With readModel and format onnx: the whole model, in an ArrayBuffer of its own (transfer it to
   * worker threads without copying), equal to the pin: hashed in memory on this start (on a
   * fresh download the engine hashed this very copy). With MODELPIN_CACHE_VERIFY=size a cache
   * hit is read but not hashed. The view may be shorter than its buffer.
   */
  modelBytes?: Uint8Array;
}

// 4 MiB × 4: measured against 8 MiB × 4 on MinIO, as fast or faster and ~30 MB less peak RSS
// (every part ahead of the head holds its bytes until the hash reaches it).
export const DEFAULT_PART_SIZE = 4 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_TOTAL_TIMEOUT_MS = 30 * 60_000;
const SIGNATURE_MAX_BYTES = 64 * 1024;

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ModelpinError('MODELPIN_E_SERVE_CONFIG', `${name}="${v}" is not a positive number`, { hint: `unset ${name} or give a positive number` });
  }
  return n;
}

interface Resolved {
  hex: string;
  ref: ArtifactRef;
  format: 'onnx' | 'tar';
  entry: string;
  cache: CacheLayout;
  ctx: SourceContext;
  log: Logger;
  timeoutMs: number;
  partSize: number;
  concurrency: number;
  retry: RetryPolicy;
  cacheVerify: CacheVerify;
  limits: ArchiveLimits;
  progress: boolean | 'auto';
}

function resolveOptions(opts: FetchOptions): Resolved {
  const env = opts.env ?? process.env;
  const log = opts.log ?? silentLogger;
  const hex = parseDigest(opts.digest, { path: '--digest' }).hex;
  const ref = parseArtifactUri(opts.uri, { path: '--uri' });
  const format = opts.format ?? 'onnx';
  if (format !== 'onnx' && format !== 'tar') throw new ModelpinError('MODELPIN_E_USAGE', `--format must be onnx or tar, not "${String(format)}"`);
  if (opts.size !== undefined && (!Number.isSafeInteger(opts.size) || opts.size < 0)) {
    throw new ModelpinError('MODELPIN_E_USAGE', `--size must be a whole number of bytes, not "${opts.size}"`);
  }
  const cacheVerify = opts.cacheVerify ?? ((env.MODELPIN_CACHE_VERIFY as CacheVerify | undefined) || 'rehash');
  if (cacheVerify !== 'size' && cacheVerify !== 'rehash') {
    throw new ModelpinError('MODELPIN_E_SERVE_CONFIG', `MODELPIN_CACHE_VERIFY must be "rehash" (the default) or "size", not "${String(cacheVerify)}"`, {
      hint: 'unset it to re-verify cached artifacts on every start, or set "size" to trust them (see the README, "Cache, crashes, retries")',
    });
  }
  const timeoutMs = opts.totalTimeoutMs ?? (envNumber(env, 'MODELPIN_FETCH_TIMEOUT_SECONDS') ?? DEFAULT_TOTAL_TIMEOUT_MS / 1000) * 1000;
  const idle = opts.idleTimeoutMs ?? (envNumber(env, 'MODELPIN_FETCH_IDLE_TIMEOUT_SECONDS') ?? 60) * 1000;
  const retries = envNumber(env, 'MODELPIN_FETCH_RETRIES');
  return {
    hex,
    ref,
    format,
    entry: opts.entry ?? 'model.onnx',
    cache: cacheLayout(opts.cacheDir),
    ctx: {
      env,
      log,
      ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}),
      ...(opts.caFile ? { caFile: opts.caFile } : {}),
      idleTimeoutMs: idle,
    },
    log,
    timeoutMs,
    partSize: Math.floor(opts.partSize ?? envNumber(env, 'MODELPIN_FETCH_PART_SIZE') ?? DEFAULT_PART_SIZE),
    concurrency: Math.floor(opts.concurrency ?? envNumber(env, 'MODELPIN_FETCH_CONCURRENCY') ?? DEFAULT_CONCURRENCY),
    retry: { ...DEFAULT_RETRY, ...(retries === undefined ? {} : { retries }), ...opts.retry },
    cacheVerify,
    limits: {
      maxEntries: opts.archiveLimits?.maxEntries ?? envNumber(env, 'MODELPIN_ARCHIVE_MAX_ENTRIES') ?? DEFAULT_ARCHIVE_LIMITS.maxEntries,
      maxBytes: opts.archiveLimits?.maxBytes ?? envNumber(env, 'MODELPIN_ARCHIVE_MAX_BYTES') ?? DEFAULT_ARCHIVE_LIMITS.maxBytes,
    },
    progress: opts.progress ?? 'auto',
  };
}

export async function fetchArtifact(opts: FetchOptions): Promise<FetchResult> {
  const t0 = performance.now();
  const r = resolveOptions(opts);
  // The total budget is a timer we hold ourselves (see deadline.ts), cleared on the way out.
  const deadline = scope([opts.signal], r.timeoutMs);
  try {
    return await fetchWithin({ ...r, signal: deadline.signal }, opts, t0);
  } catch (e) {
    throw overTime(e, deadline.signal, describeUri(r.ref));
  } finally {
    deadline.dispose();
  }
}

interface Run extends Resolved {
  signal: AbortSignal;
}

/** An abort by our own deadline becomes the coded time-limit error, whatever step it hit. */
function overTime(e: unknown, signal: AbortSignal, describe: string): unknown {
  if (e instanceof ModelpinError || !signal.aborted) return e;
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new ModelpinError('MODELPIN_E_FETCH_NETWORK', `fetching ${describe} did not finish within the time limit`, {
      hint: 'raise the total timeout (MODELPIN_FETCH_TIMEOUT_SECONDS) or check why the download is slow',
      cause: e,
    });
  }
  return reason ?? e;
}

async function fetchWithin(r: Run, opts: FetchOptions, t0: number): Promise<FetchResult> {
  const log = r.log.child({ uri: describeUri(r.ref), digest: formatDigest(r.hex) });
  const key = opts.publicKeyPath ? await loadKey(opts.publicKeyPath) : undefined;
  if (!key && opts.signatureUri) {
    throw new ModelpinError('MODELPIN_E_SIGNATURE', '--signature-uri is set but --public-key is not, so the signature cannot be checked', {
      hint: 'pass the PEM public key with --public-key (or drop --signature-uri)',
    });
  }
  await ensureCache(r.cache);
  await sweepTemp(r.cache, log);

  const blob = blobPath(r.cache, r.hex);
  const dir = extractedPath(r.cache, r.hex);
  const wantBytes = opts.readModel === true && r.format === 'onnx';
  const marker = key ? join(r.cache.signatures, `${r.hex}.${key.fingerprint}`) : undefined;
  const finish = (path: string, bytes: number, downloaded: number, cached: boolean, modelBytes?: Uint8Array): FetchResult => {
    const modelFile = r.format === 'tar' ? join(path, r.entry) : path;
    const res = {
      path,
      modelFile,
      digest: formatDigest(r.hex),
      bytes,
      downloadedBytes: downloaded,
      cached,
      durationMs: performance.now() - t0,
      ...(modelBytes === undefined ? {} : { modelBytes }),
    };
    log.info(cached ? 'artifact found in cache' : 'artifact fetched and verified', { path, bytes, cached, verify: r.cacheVerify, durationMs: Math.round(res.durationMs) });
    return res;
  };

  // ---- cache hit: re-verified unless the user opted out ------------------------------------
  let size: number | undefined;
  let modelBytes: Uint8Array | undefined;
  let treeOk = false;
  if (r.format === 'onnx') {
    const hit = await confirmBlob(r, blob, opts.size, wantBytes, log);
    size = hit?.size;
    modelBytes = hit?.data;
  } else {
    const hit = await confirmTree(r, blob, dir, opts.size, log);
    size = hit?.size;
    treeOk = hit?.treeOk ?? false;
  }
  const signedOk = async () => marker === undefined || (await fileSize(marker)) !== undefined;
  if (size !== undefined && (await signedOk())) {
    if (r.format === 'onnx') return finish(blob, size, 0, true, modelBytes);
    return finish(treeOk ? dir : await extract(r, blob, log), size, 0, true);
  }

  // ---- signature first (small), so a missing .sig fails before a long download ---------
  const signature = key ? await fetchSignature(r, opts, log) : undefined;

  let downloaded = 0;
  if (size === undefined) {
    const source = await openSource(r.ref, r.ctx);
    const tmp = await createTempBlob(r.cache, r.hex);
    const progress = createProgress({ mode: r.progress, log, label: 'fetch' });
    const keep = wantBytes ? new KeptBytes() : undefined;
    try {
      log.info('fetching artifact', { source: source.describe });
      const got = await download(source, {
        signal: r.signal,
        retry: r.retry,
        log,
        sink: tmp,
        ...(opts.size === undefined ? {} : { maxBytes: opts.size }),
        partSize: r.partSize,
        concurrency: r.concurrency,
        onProgress: (b, t) => progress.update(b, t),
        ...(keep ? { keep } : {}),
      });
      progress.done();
      if (got.hex !== r.hex) {
        throw new ModelpinError(
          'MODELPIN_E_DIGEST_MISMATCH',
          `${source.describe}: expected ${formatDigest(r.hex)}, got ${formatDigest(got.hex)} (${got.bytes} bytes); nothing was cached`,
          { hint: 'the artifact changed or was tampered with; if the change is intended, re-pin it with `modelpin lock`' },
        );
      }
      if (key && signature) await verifyFileSignature(tmp.path, signature.bytes, key, { artifact: source.describe, signature: signature.describe });
      await tmp.commit();
      downloaded = got.bytes;
      size = got.bytes;
      modelBytes = keep?.bytes(got.bytes);
    } catch (e) {
      await tmp.discard();
      throw e;
    } finally {
      progress.done();
      await source.close().catch(() => {});
    }
  } else if (key && signature) {
    // Cached artifact, but never verified with this key.
    await verifyFileSignature(blob, signature.bytes, key, { artifact: formatArtifactUri(r.ref), signature: signature.describe });
  }
  if (marker !== undefined) await writeAtomic(r.cache, marker, `${signature?.describe ?? ''}\n`);
  if (r.format === 'onnx') return finish(blob, size, downloaded, downloaded === 0, modelBytes);
  const path = treeOk && downloaded === 0 ? dir : await extract(r, blob, log);
  return finish(path, size, downloaded, downloaded === 0);
}

/** The URI for logs: no user info, and no query string on http(s) (presigned signatures). */
function describeUri(ref: ArtifactRef): string {
  if (ref.scheme === 'http' || ref.scheme === 'https') {
    const u = new URL(ref.url);
    const q = u.search !== '';
    u.search = '';
    return u.toString() + (q ? '?…' : '');
  }
  return formatArtifactUri(ref);
}

/** Drop a cache entry that failed its check (and the tree extracted from it). */
async function evict(r: Run, blob: string, reason: string, log: Logger): Promise<undefined> {
  log.warn('evicting a corrupt cache entry; fetching it again', { path: blob, reason });
  await rm(blob, { force: true });
  await rm(extractedPath(r.cache, r.hex), { recursive: true, force: true });
  return undefined;
}

/** Run a cache read; a file that vanished meanwhile (a concurrent eviction) is a miss. */
async function readCache<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof ModelpinError || (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError'))) throw e;
    throw cacheError(`cannot read ${what}`, e);
  }
}

/**
 * A usable cached blob: its size and, with `wantBytes`, its content in memory. Undefined when
 * absent or evicted. Default policy: the bytes are hashed again (in memory when they are
 * handed on, so no later read of the file can differ from what was checked).
 */
async function confirmBlob(r: Run, blob: string, expectedSize: number | undefined, wantBytes: boolean, log: Logger): Promise<{ size: number; data?: Uint8Array } | undefined> {
  const size = await fileSize(blob);
  if (size === undefined) return undefined;
  if (expectedSize !== undefined && size !== expectedSize) return evict(r, blob, `size ${size} differs from the expected ${expectedSize}`, log);
  const rehash = r.cacheVerify === 'rehash';
  if (wantBytes) {
    const got = await readCache(blob, () => readWholeFile(blob, { hash: rehash, signal: r.signal }));
    if (got === undefined) return undefined;
    if ('changed' in got) return evict(r, blob, got.changed, log);
    if (rehash && got.hex !== r.hex) return evict(r, blob, `content hashes to sha256:${got.hex}`, log);
    return { size: got.data.byteLength, data: got.data };
  }
  if (!rehash) return { size };
  const got = await readCache(blob, () => sha256File(blob, { signal: r.signal }));
  if (got === undefined) return undefined;
  if (got.hex !== r.hex) return evict(r, blob, `content hashes to sha256:${got.hex}`, log);
  return { size: got.bytes };
}

/**
 * A usable cached tar: the blob's size, and whether extracted/<hex> can be used as it is. By
 * default one pass hashes the blob and compares the extracted tree with it entry by entry
 * (contents, links, nothing extra); a blob that fails is evicted with its tree, a tree that
 * fails is removed and extracted again from the blob just verified.
 */
async function confirmTree(r: Run, blob: string, dir: string, expectedSize: number | undefined, log: Logger): Promise<{ size: number; treeOk: boolean } | undefined> {
  const size = await fileSize(blob);
  if (size === undefined) {
    // A tree without its blob cannot be checked: start over.
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  if (expectedSize !== undefined && size !== expectedSize) return evict(r, blob, `size ${size} differs from the expected ${expectedSize}`, log);
  const entryThere = async () => (await fileSize(join(dir, r.entry))) !== undefined;
  if (r.cacheVerify === 'size') return { size, treeOk: await entryThere() };
  if ((await readCache(dir, () => stat(dir))) === undefined) {
    const got = await readCache(blob, () => sha256File(blob, { signal: r.signal }));
    if (got === undefined) return undefined;
    if (got.hex !== r.hex) return evict(r, blob, `content hashes to sha256:${got.hex}`, log);
    return { size, treeOk: false };
  }
  const { verifyExtracted } = await import('../archive/extract.js'); // tar is loaded only for tar artifacts
  const check = await readCache(blob, () => verifyExtracted(blob, dir, { signal: r.signal }));
  if (check === undefined) return undefined;
  if (check.hex !== r.hex) return evict(r, blob, `content hashes to sha256:${check.hex}`, log);
  if (check.problem !== undefined || !(await entryThere())) {
    log.warn('the extracted tree differs from the verified archive; extracting it again', { path: dir, reason: check.problem ?? `the entry ${r.entry} is missing` });
    await rm(dir, { recursive: true, force: true });
    return { size, treeOk: false };
  }
  return { size, treeOk: true };
}

async function extract(r: Run, blob: string, log: Logger): Promise<string> {
  const dest = extractedPath(r.cache, r.hex);
  if (r.cacheVerify === 'size' && (await fileSize(join(dest, r.entry))) !== undefined) return dest;
  // Extract from the blob (already verified on this start); the extraction hashes what it
  // reads. A tree that failed its check was removed by confirmTree; one that appears meanwhile
  // was renamed into place by another process, and extractArchive checks it before using it.
  // Trusting trees (size), a tree without the entry is stale: start it over.
  if (r.cacheVerify === 'size') await rm(dest, { recursive: true, force: true });
  const tmp = await createTempDir(r.cache, r.hex);
  const { extractArchive } = await import('../archive/extract.js'); // tar is loaded only for tar artifacts
  try {
    return await extractArchive(blob, {
      tmpDir: tmp.path,
      dest,
      entry: r.entry,
      limits: r.limits,
      describe: formatArtifactUri(r.ref),
      ...(r.cacheVerify === 'rehash' ? { expectedHex: r.hex } : {}),
      signal: r.signal,
    });
  } catch (e) {
    if (e instanceof ModelpinError && e.code === 'MODELPIN_E_CACHE' && /changed on disk/.test(e.message)) await evict(r, blob, e.message, log);
    throw e;
  } finally {
    tmp.release();
  }
}

async function loadKey(path: string): Promise<PublicKeyInfo> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw new ModelpinError('MODELPIN_E_SIGNATURE', `cannot read the public key ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'mount the signing public-key Secret and pass the file with --public-key',
    });
  }
  return loadPublicKey(pem, path);
}

/** `<uri>.sig` next to the artifact (S3: key + .sig, without the artifact's versionId). */
export function defaultSignatureUri(ref: ArtifactRef): string {
  switch (ref.scheme) {
    case 'file':
      return `${formatArtifactUri(ref)}.sig`;
    case 'http':
    case 'https': {
      const u = new URL(ref.url);
      u.pathname += '.sig';
      return u.toString();
    }
    case 's3':
      return formatArtifactUri({ scheme: 's3', bucket: ref.bucket, key: `${ref.key}.sig` });
    case 'models':
      throw new ModelpinError('MODELPIN_E_SIGNATURE', `${formatArtifactUri(ref)} has no default signature location`, {
        hint: 'pass --signature-uri (spec.model.signature) pointing at the .sig file',
      });
    case 'oci':
      // cosign keeps an image's signatures in the registry (a sha256-<digest>.sig tag signing the
      // manifest), a different format from the detached `cosign sign-blob` signature verified here.
      throw new ModelpinError('MODELPIN_E_SIGNATURE', `${formatArtifactUri(ref)} has no default signature location`, {
        hint: 'sign the layer file with `cosign sign-blob` and pass its location with --signature-uri (spec.model.signature.uri: s3://, https://, file:// or another oci:// artifact)',
      });
  }
}

async function fetchSignature(r: Run, opts: FetchOptions, log: Logger): Promise<{ bytes: Buffer; describe: string }> {
  const uri = opts.signatureUri ?? defaultSignatureUri(r.ref);
  const ref = parseArtifactUri(uri, { path: '--signature-uri' });
  const chunks: Buffer[] = [];
  const sink: Sink = {
    async write(cs) {
      for (const c of cs) chunks.push(Buffer.from(c));
    },
    async reset() {
      chunks.length = 0;
    },
  };
  let source: Source | undefined;
  try {
    source = await openSource(ref, r.ctx);
    await download(source, { signal: r.signal, retry: r.retry, log, sink, maxBytes: SIGNATURE_MAX_BYTES, partSize: r.partSize, concurrency: 1 });
  } catch (e) {
    if (e instanceof ModelpinError && (e.code === 'MODELPIN_E_FETCH_NOT_FOUND' || e.code === 'MODELPIN_E_SIZE_EXCEEDED')) {
      throw new ModelpinError('MODELPIN_E_SIGNATURE', `signature ${describeUri(ref)} is missing or unusable: ${e.message}`, {
        hint: 'sign the artifact (`cosign sign-blob --key cosign.key <file> --output-signature <file>.sig`) and upload the .sig next to it, or set --signature-uri',
        cause: e,
      });
    }
    throw e;
  } finally {
    await source?.close().catch(() => {});
  }
  const describe = source?.describe ?? uri;
  return { bytes: decodeSignature(Buffer.concat(chunks).toString('utf8'), describe), describe };
}

/** Stream an artifact through SHA-256 without caching it (`modelpin lock`). */
export async function digestOf(
  uri: string,
  opts: { credentialsDir?: string; caFile?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal; log?: Logger; totalTimeoutMs?: number } = {},
): Promise<{ digest: string; size: number }> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? silentLogger;
  const ref = parseArtifactUri(uri, { path: 'uri' });
  const source = await openSource(ref, {
    env,
    log,
    ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}),
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
  });
  // The total budget is a timer we hold ourselves (see deadline.ts), cleared on the way out.
  const deadline = scope([opts.signal], opts.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS);
  const signal = deadline.signal;
  try {
    const partSize = envNumber(env, 'MODELPIN_FETCH_PART_SIZE') ?? DEFAULT_PART_SIZE;
    const concurrency = envNumber(env, 'MODELPIN_FETCH_CONCURRENCY') ?? DEFAULT_CONCURRENCY;
    const got = await download(source, { signal, retry: DEFAULT_RETRY, log, partSize, concurrency });
    return { digest: formatDigest(got.hex), size: got.bytes };
  } catch (e) {
    throw overTime(e, signal, describeUri(ref));
  } finally {
    deadline.dispose();
    await source.close().catch(() => {});
  }
}

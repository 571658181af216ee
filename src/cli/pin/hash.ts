// Streaming SHA-256 of any artifact reference through the sidecar's sources and download engine
// (the same retries, resumption and size limits as `modelpin fetch`), without caching the bytes;
// and of the local file `publish` uploads.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { formatDigest } from '../../digest.js';
import { ModelpinError } from '../../errors.js';
import type { ArtifactRef } from '../../artifact-uri.js';
import type { Logger } from '../../../sidecar/log.js';
import type { Source, SourceContext } from '../../../sidecar/sources/types.js';

export interface HashResult {
  digest: string;
  size: number;
}

export interface HashOptions {
  ctx: SourceContext;
  /** Refuse (MODELPIN_E_SIZE_EXCEEDED) beyond this many bytes. */
  maxBytes?: number;
  timeoutMs?: number;
}

export async function hashSource(source: Source, log: Logger, opts: { maxBytes?: number; timeoutMs?: number } = {}): Promise<HashResult> {
  const [{ download }, { DEFAULT_RETRY }] = await Promise.all([import('../../../sidecar/fetch/download.js'), import('../../../sidecar/fetch/retry.js')]);
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 6 * 60 * 60 * 1000);
  try {
    const r = await download(source, {
      signal,
      retry: DEFAULT_RETRY,
      log,
      partSize: 16 << 20,
      concurrency: 4,
      ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes }),
    });
    return { digest: formatDigest(r.hex), size: r.bytes };
  } finally {
    await source.close();
  }
}

export async function hashRef(ref: ArtifactRef, opts: HashOptions): Promise<HashResult> {
  const { openSource } = await import('../../../sidecar/sources/index.js');
  const source = await openSource(ref, opts.ctx);
  return hashSource(source, opts.ctx.log, opts);
}

/** SHA-256 and size of the local file `modelpin publish` is about to upload (S3 or OCI). */
export async function hashLocalFile(file: string): Promise<{ hex: string; size: number }> {
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

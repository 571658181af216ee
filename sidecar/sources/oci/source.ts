// oci://registry/repository@sha256:<manifest> as a Source: the manifest is fetched (bounded,
// hashed against the URI's digest), one layer is chosen (manifest.ts), and that layer's blob is
// what the engine downloads and hashes against spec.model.digest. Ranged reads (and with them the
// engine's parallel ranged GETs) are offered only once a probe showed the registry honours Range.
import { formatArtifactUri, type OciRef } from '../../../src/artifact-uri.js';
import { ModelpinError } from '../../../src/errors.js';
import { parseContentRange } from '../http.js';
import { discardBody, headerValue } from '../dispatch.js';
import { RetryableError, type Opened, type Source, type SourceContext } from '../types.js';
import { parseManifest, selectLayer, type Descriptor } from './manifest.js';
import { RegistryClient } from './registry-client.js';

/** Below this a parallel download is never chosen, so the probe is not worth a round trip. */
const RANGE_PROBE_MIN = 1 << 20;

export interface ResolvedLayer {
  manifestDigest: string;
  layer: Descriptor;
}

/** Manifest (by digest, or by tag for lock) → the chosen layer. */
export async function resolveLayer(client: RegistryClient, ref: OciRef, signal?: AbortSignal): Promise<ResolvedLayer> {
  const reference = ref.digest ?? ref.tag;
  if (reference === undefined) throw new ModelpinError('MODELPIN_E_SPEC_URI', `${formatArtifactUri(ref)} names neither a digest nor a tag`);
  const m = await client.getManifest(reference, signal);
  const where = formatArtifactUri({ ...ref, digest: m.digest });
  const manifest = parseManifest(m.bytes, m.contentType, where);
  const layer = selectLayer(manifest, { ...(ref.title === undefined ? {} : { title: ref.title }), ...(ref.mediaType === undefined ? {} : { mediaType: ref.mediaType }) }, where);
  return { manifestDigest: m.digest, layer };
}

export function ociSource(ref: OciRef, ctx: SourceContext): Source {
  const client = new RegistryClient(ref, {
    env: ctx.env,
    ...(ctx.credentialsDir ? { credentialsDir: ctx.credentialsDir } : {}),
    ...(ctx.caFile ? { caFile: ctx.caFile } : {}),
    ...(ctx.idleTimeoutMs ? { idleTimeoutMs: ctx.idleTimeoutMs } : {}),
  });
  const describe = formatArtifactUri(ref);
  let layer: Descriptor | undefined;

  async function opened(range: { start: number; end: number } | undefined, signal: AbortSignal): Promise<Opened> {
    const l = layer ?? (await stat(signal), layer!);
    const res = await client.getBlob(l.digest, range, signal);
    const body = res.body;
    const destroy = () => discardBody(body);
    if (res.status === 206) {
      const cr = parseContentRange(headerValue(res.headers['content-range']));
      if (!cr) {
        destroy();
        throw new RetryableError(`${describe}: the registry answered 206 without a usable Content-Range`);
      }
      return { body, start: cr.start, totalSize: cr.total ?? l.size, destroy };
    }
    const len = Number(headerValue(res.headers['content-length']) ?? NaN);
    return { body, start: 0, totalSize: Number.isSafeInteger(len) ? len : l.size, destroy };
  }

  async function stat(signal: AbortSignal) {
    if (!layer) {
      if (ref.digest === undefined) ctx.log.warn('fetching by tag: the bytes are still checked against the pinned digest, but pin the manifest with `modelpin lock`', { uri: describe });
      layer = (await resolveLayer(client, ref, signal)).layer;
      if (layer.size >= RANGE_PROBE_MIN && (await rangesWork(layer, signal))) {
        source.readRange = (start, end, s) => opened({ start, end: end - 1 }, s);
      }
    }
    return { size: layer.size };
  }

  /** One byte at offset 1: a 206 with the right Content-Range means ranged reads work (redirects included). */
  async function rangesWork(l: Descriptor, signal: AbortSignal): Promise<boolean> {
    try {
      const res = await client.getBlob(l.digest, { start: 1, end: 1 }, signal);
      const cr = parseContentRange(headerValue(res.headers['content-range']));
      discardBody(res.body);
      return res.status === 206 && cr?.start === 1 && (cr.total === undefined || cr.total === l.size);
    } catch (e) {
      if (e instanceof ModelpinError) throw e;
      return false; // transient: fall back to one stream, which has its own retries
    }
  }

  const source: Source = {
    describe,
    stat,
    open(offset, signal) {
      // Resume with a closed range (the size is known from the manifest).
      return opened(offset > 0 && layer ? { start: offset, end: layer.size - 1 } : undefined, signal);
    },
    async close() {
      await client.close();
    },
  };
  return source;
}

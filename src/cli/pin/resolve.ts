// Render-time resolution (opt-in, plugin parameter resolve=true): pin an unpinned spec while
// rendering, from what the store can answer cheaply: an S3 full-object ChecksumSHA256, a
// modelpin.digest tag on an MLflow version (written by publish), or this on-disk cache keyed by
// immutable identifiers (s3 bucket/key/versionId, models:/name/<version>). A full download is
// allowed only up to maxDownloadBytes (Argo CD gives the whole render 60 s); beyond that it refuses
// with MODELPIN_E_RESOLVE_TOO_LARGE and recommends `modelpin lock`. Promotion gates apply here too.
// Weaker than lock: see the README ("Render-time resolution").
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../../digest.js';
import type { ModelDeployment } from '../../spec/types.js';
import type { DigestCache } from './artifact.js';

export interface ResolveOptions {
  cacheDir: string;
  maxDownloadBytes: number;
  env: NodeJS.ProcessEnv;
  credentialsDir?: string;
  caFile?: string;
}

export interface ResolvedPin {
  uri: string;
  digest: string;
  size?: number;
}

/** One small JSON file per immutable reference; a corrupt or foreign entry is ignored, never trusted blindly. */
export function fileDigestCache(dir: string): DigestCache {
  const pathFor = (uri: string) => join(dir, `${createHash('sha256').update(uri).digest('hex')}.json`);
  return {
    async get(uri) {
      try {
        const v = JSON.parse(await readFile(pathFor(uri), 'utf8')) as { uri?: unknown; digest?: unknown; size?: unknown };
        if (v.uri !== uri || typeof v.digest !== 'string' || !isDigest(v.digest)) return undefined;
        return { digest: v.digest, ...(typeof v.size === 'number' ? { size: v.size } : {}) };
      } catch {
        return undefined;
      }
    },
    async put(uri, value) {
      try {
        await mkdir(dir, { recursive: true });
        const p = pathFor(uri);
        const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
        await writeFile(tmp, JSON.stringify({ uri, ...value }));
        await rename(tmp, p);
      } catch {
        // A read-only or full cache only costs the next render a re-resolution.
      }
    },
  };
}

/** The registry the pod will use: serving.env MLFLOW_TRACKING_URI, else the gates' tracking server. */
export function registryUri(spec: ModelDeployment): string | undefined {
  return spec.spec.serving.env?.find((e) => e.name === 'MLFLOW_TRACKING_URI')?.value ?? spec.spec.gates?.mlflow?.trackingUri;
}

export async function resolveForRender(spec: ModelDeployment, opts: ResolveOptions): Promise<ResolvedPin> {
  const m = spec.spec.model;
  if (m.digest !== undefined) return { uri: m.uri, digest: m.digest, ...(m.size === undefined ? {} : { size: m.size }) };
  const [{ resolveArtifact }, { checkGates }, { createLogger }] = await Promise.all([
    import('./artifact.js'),
    import('./lock.js'),
    import('../../../sidecar/log.js'),
  ]);
  const deps = {
    env: opts.env,
    log: createLogger({ level: 'warn' }),
    maxDownloadBytes: opts.maxDownloadBytes,
    cache: fileDigestCache(join(opts.cacheDir, 'resolve')),
    ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}),
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
  };
  const trackingUri = registryUri(spec);
  if (trackingUri) Object.assign(deps, { trackingUri });
  const r = await resolveArtifact(m.uri, deps);
  await checkGates(spec, r, deps);
  return { uri: r.uri, digest: r.digest, ...(r.size === undefined ? {} : { size: r.size }) };
}

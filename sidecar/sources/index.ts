// Dispatch from a parsed artifact reference to the source that reads it. Heavy clients (undici,
// the AWS SDK) are imported lazily so a file:// fetch never loads them.
import type { ArtifactRef } from '../../src/artifact-uri.js';
import type { Source, SourceContext } from './types.js';

export type { Source, SourceContext, Opened, StatResult } from './types.js';
export { RetryableError, isRetryableError } from './types.js';

/**
 * A Source for `ref`. Async so that a source may need a network round trip to find the bytes
 * (the MLflow registry resolves models:/ to an artifact URI, then fetches through these sources).
 */
export async function openSource(ref: ArtifactRef, ctx: SourceContext): Promise<Source> {
  switch (ref.scheme) {
    case 'file': {
      const { fileSource } = await import('./file.js');
      return fileSource(ref.path);
    }
    case 'http':
    case 'https': {
      const { httpSource } = await import('./http.js');
      return httpSource(ref.url, ctx);
    }
    case 's3': {
      const { s3Source } = await import('./s3.js');
      return s3Source(ref, ctx);
    }
    // ---- models:/ (MLflow registry) -------------------------------------------------------
    // Resolve the model version to its download location through the registry, then read the
    // bytes with the sources above (or the tracking server's artifact proxy). Hashing, retries
    // and the cache are shared, so the pinned digest is verified exactly as for any other URI.
    case 'models': {
      const { mlflowSource } = await import('./mlflow.js');
      return mlflowSource(ref, ctx, openSource);
    }
    // ---- oci:// (registries) ----------------------------------------------------------------
    // The manifest is fetched and checked against the URI's digest; the chosen layer's blob is
    // the artifact, hashed by the engine like any other.
    case 'oci': {
      const { ociSource } = await import('./oci/source.js');
      return ociSource(ref, ctx);
    }
  }
}

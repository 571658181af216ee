// Render-time resolution (opt-in): pins an unpinned spec from checksums the store already holds.
// Placeholder signature so render can code against it; the implementation follows.
import type { ModelDeployment } from '../../spec/types.js';
import { ModelpinError } from '../../errors.js';

export interface ResolveOptions {
  cacheDir: string;
  maxDownloadBytes: number;
  env: NodeJS.ProcessEnv;
}

export interface ResolvedPin {
  uri: string;
  digest: string;
  size?: number;
}

export async function resolveForRender(_spec: ModelDeployment, _opts: ResolveOptions): Promise<ResolvedPin> {
  throw new ModelpinError('MODELPIN_E_INTERNAL', 'render-time resolution is not built yet');
}

// The optimized-model cache (opt-in: --optimized-model-cache, spec.serving.onnxruntime): ONNX
// Runtime's graph optimizations run at every session creation, which for large models costs
// seconds. With the cache on, the first start saves the optimized graph (ORT's
// optimizedModelFilePath) under <cache>/optimized/, keyed by the artifact digest, the ONNX
// Runtime version, the session options and the CPU (the "all" level may lay out weights for this
// CPU's instruction set); later starts on the same volume load it with optimizations disabled.
//
// Trust: the optimized file is derived from verified bytes but has no pin of its own; its recorded
// SHA-256 only catches corruption, not a writer with access to the cache volume. That is why it is
// off by default, and documented as trusting the cache volume.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../verify/hash-file.js';
import type { Logger } from '../log.js';
import type { OrtOptions } from './ort-tensors.js';

/** The installed onnxruntime-node's version, read without loading the native library. */
export function ortPackageVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function optimizedKey(digest: string, ort: OrtOptions, ortVersion = ortPackageVersion()): string {
  const cpu = `${process.arch}/${cpus()[0]?.model ?? 'unknown'}`;
  return createHash('sha256').update(JSON.stringify({ digest, ortVersion, ort, cpu })).digest('hex');
}

export type OptimizedPlan =
  /** A verified-by-record optimized graph exists: load it with optimizations disabled. */
  | { kind: 'load'; path: string }
  /** None yet: let the first session save one to `tmp`, then `commit()` it. */
  | { kind: 'save'; tmp: string; commit(): Promise<void>; discard(): Promise<void> };

export async function planOptimized(cacheDir: string, digest: string, ort: OrtOptions, log: Logger): Promise<OptimizedPlan> {
  const dir = join(cacheDir, 'optimized');
  await mkdir(dir, { recursive: true });
  const key = optimizedKey(digest, ort);
  const final = join(dir, `${key}.onnx`);
  const record = `${final}.sha256`;
  try {
    const want = (await readFile(record, 'utf8')).trim();
    const { hex } = await sha256File(final);
    if (hex === want) return { kind: 'load', path: final };
    log.warn('evicting a corrupt optimized model from the cache', { path: final });
  } catch {
    /* absent (or unreadable): build it */
  }
  await rm(final, { force: true });
  await rm(record, { force: true });
  const tmp = join(dir, `${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp.onnx`);
  return {
    kind: 'save',
    tmp,
    async commit() {
      const { hex } = await sha256File(tmp);
      await writeFile(`${tmp}.sha256`, `${hex}\n`);
      // The record goes in last: a file without its record is never loaded.
      await rename(tmp, final);
      await rename(`${tmp}.sha256`, record);
      log.info('saved the optimized model in the cache', { path: final });
    },
    async discard() {
      await rm(tmp, { force: true });
      await rm(`${tmp}.sha256`, { force: true });
    },
  };
}

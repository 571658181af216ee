// The sidecar's command line: the `modelpin serve` flags of sidecar/config.ts that the spec sets.
// Flags appear only when the spec sets them, so the defaults live in one place (the sidecar) and
// an unrelated default change there does not restart every pod.
import type { ModelDeployment } from '../spec/types.js';
import { WARMUP_DIR, WARMUP_FILE } from './warmup.js';

/** Mount points shared with the sidecar (fixed by the contract). */
export const CACHE_DIR = '/var/cache/modelpin';
export const TMP_DIR = '/tmp';
export const CREDENTIALS_DIR = '/var/run/secrets/modelpin/credentials';
export const SIGNING_DIR = '/var/run/secrets/modelpin/signing';

export function serveArgs(spec: ModelDeployment, digest: string): string[] {
  const { model, serving } = spec.spec;
  const args = ['serve', '--uri', model.uri, '--digest', digest, '--name', spec.metadata.name, '--port', String(serving.port), '--grpc-port', String(serving.grpcPort)];
  if (model.format !== 'onnx') args.push('--format', model.format);
  if (model.format === 'tar' && model.entry !== undefined) args.push('--entry', model.entry);
  if (model.size !== undefined) args.push('--size', String(model.size));
  if (serving.batching) {
    args.push('--max-batch-size', String(serving.batching.maxBatchSize), '--max-batch-delay-ms', String(serving.batching.maxDelayMs));
    if (serving.batching.force) args.push('--batching-force');
  }
  if (serving.workers !== undefined) args.push('--workers', String(serving.workers));
  const o = serving.onnxruntime;
  if (o?.graphOptimizationLevel !== undefined) args.push('--graph-optimization-level', o.graphOptimizationLevel);
  if (o?.executionMode !== undefined) args.push('--execution-mode', o.executionMode);
  if (o?.memoryArena !== undefined) args.push(`--memory-arena=${o.memoryArena}`);
  if (o?.memoryPattern !== undefined) args.push(`--memory-pattern=${o.memoryPattern}`);
  if (o?.optimizedModelCache !== undefined) args.push(`--optimized-model-cache=${o.optimizedModelCache}`);
  const w = serving.warmup;
  if (w?.samples !== undefined) args.push('--warmup-file', `${WARMUP_DIR}/${WARMUP_FILE}`);
  if (w?.uri !== undefined) args.push('--warmup-uri', w.uri, '--warmup-digest', w.digest ?? '');
  if (w?.auto !== undefined) args.push(`--warmup-auto=${w.auto}`);
  if (serving.threads?.intraOp !== undefined) args.push('--threads', String(serving.threads.intraOp));
  if (serving.threads?.interOp !== undefined) args.push('--inter-op-threads', String(serving.threads.interOp));
  if (model.credentials) args.push('--credentials-dir', CREDENTIALS_DIR);
  if (model.signature) {
    if (model.signature.uri !== undefined) args.push('--signature-uri', model.signature.uri);
    args.push('--public-key', `${SIGNING_DIR}/${model.signature.publicKey.key}`);
  }
  return args;
}

// The sidecar's command line, exactly as COMMON.md's contract says `modelpin serve` accepts it.
// Flags appear only when the spec sets them, so the defaults live in one place (the sidecar) and
// an unrelated default change there does not restart every pod.
import type { ModelDeployment } from '../spec/types.js';

/** Mount points shared with the sidecar (fixed by the contract). */
export const CACHE_DIR = '/var/cache/modelpin';
export const TMP_DIR = '/tmp';
export const CREDENTIALS_DIR = '/var/run/secrets/modelpin/credentials';
export const SIGNING_DIR = '/var/run/secrets/modelpin/signing';

export function serveArgs(spec: ModelDeployment, digest: string): string[] {
  const { model, serving } = spec.spec;
  const args = ['serve', '--uri', model.uri, '--digest', digest, '--name', spec.metadata.name, '--port', String(serving.port)];
  if (model.format !== 'onnx') args.push('--format', model.format);
  if (model.format === 'tar' && model.entry !== undefined) args.push('--entry', model.entry);
  if (model.size !== undefined) args.push('--size', String(model.size));
  if (serving.batching) {
    args.push('--max-batch-size', String(serving.batching.maxBatchSize), '--max-batch-delay-ms', String(serving.batching.maxDelayMs));
  }
  if (serving.threads?.intraOp !== undefined) args.push('--threads', String(serving.threads.intraOp));
  if (serving.threads?.interOp !== undefined) args.push('--inter-op-threads', String(serving.threads.interOp));
  if (model.credentials) args.push('--credentials-dir', CREDENTIALS_DIR);
  if (model.signature) {
    if (model.signature.uri !== undefined) args.push('--signature-uri', model.signature.uri);
    args.push('--public-key', `${SIGNING_DIR}/${model.signature.publicKey.key}`);
  }
  return args;
}

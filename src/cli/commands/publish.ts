// `modelpin publish <file> <s3-uri>`: upload with a SHA-256 checksum, print digest/size/versionId;
// optionally register an MLflow model version (tagged with the digest) and pin a spec in place.
import type { Argv, CommandModule } from 'yargs';
import { handle } from '../run.js';

interface PublishArgs {
  file: string;
  uri: string;
  register?: string;
  'run-id'?: string;
  alias?: string;
  'tracking-uri'?: string;
  pin?: string;
  'credentials-dir'?: string;
  'ca-file'?: string;
  'multipart-threshold'?: number;
  output: 'text' | 'json';
}

export const publishCommand: CommandModule<object, PublishArgs> = {
  command: 'publish <file> <uri>',
  describe: 'Upload a model file to S3 with a SHA-256 checksum, or push it to an OCI registry as an ORAS artifact; optionally register it in MLflow and pin a spec',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'the model file (.onnx, or a .tar/.tar.gz archive)' })
      .positional('uri', { type: 'string', demandOption: true, describe: 's3://bucket/key to upload to (a versioned bucket gives immutable pins), or oci://registry/repository:tag (an ORAS artifact)' })
      .option('register', { type: 'string', describe: 'register an MLflow model version under this name (created if missing), tagged modelpin.digest' })
      .option('run-id', { type: 'string', describe: 'the MLflow run that trained the model (promotion gates read its metrics)' })
      .option('alias', { type: 'string', describe: 'with --register: point this alias at the new version' })
      .option('tracking-uri', { type: 'string', describe: 'MLflow tracking server (default env MLFLOW_TRACKING_URI)' })
      .option('pin', { type: 'string', describe: 'pin this spec file (or directory) to what was published, as `lock` would (gates are checked before anything is uploaded)' })
      .option('credentials-dir', { type: 'string', describe: 'directory with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MLFLOW_TRACKING_TOKEN, ...' })
      .option('ca-file', { type: 'string', describe: 'extra PEM CA bundle for an HTTPS tracking server' })
      .option('multipart-threshold', { type: 'number', describe: 'bytes above which a multipart (S3) or chunked (OCI) upload is used (default 1 GiB)' })
      .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const })
      .check((a) => {
        if (a.alias !== undefined && a.register === undefined) throw new Error('--alias needs --register');
        return true;
      })
      .example('$0 publish model.onnx s3://models/fraud/model.onnx', 'upload, print digest, size and versionId')
      .example('$0 publish model.onnx oci://ghcr.io/acme/fraud:v7 --pin deploy/fraud', 'push an ORAS artifact, pin the spec to its manifest digest (following the tag)')
      .example('$0 publish model.onnx s3://models/fraud/model.onnx --register fraud --run-id $RUN_ID --pin deploy/fraud', 'train → publish → register → pin, in one step') as unknown as Argv<PublishArgs>,
  handler: handle(async (args: PublishArgs) => {
    const { publish } = await import('../pin/publish.js');
    const r = await publish({
      env: process.env,
      ...(args['credentials-dir'] ? { credentialsDir: args['credentials-dir'] } : {}),
      ...(args['ca-file'] ? { caFile: args['ca-file'] } : {}),
      file: args.file,
      uri: args.uri,
      ...(args.register ? { register: args.register } : {}),
      ...(args['run-id'] ? { runId: args['run-id'] } : {}),
      ...(args.alias ? { alias: args.alias } : {}),
      ...(args['tracking-uri'] ? { trackingUri: args['tracking-uri'] } : {}),
      ...(args['multipart-threshold'] !== undefined ? { multipartThreshold: args['multipart-threshold'] } : {}),
      ...(args.pin !== undefined ? { pin: args.pin } : {}),
    });
    if (args.output === 'json') {
      const { pinned, gates, ...rest } = r;
      const out = { ...rest, ...(pinned ? { pinned } : {}), ...(gates ? { gates: gates.results } : {}) };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return;
    }
    const lines = r.manifestDigest
      ? [`uri:       ${r.uri}`, `tag:       ${r.tagUri}`, `manifest:  ${r.manifestDigest}`, `digest:    ${r.digest}  (layer)`, `size:      ${r.size}`]
      : [`uri:       ${r.uri}`, `digest:    ${r.digest}`, `size:      ${r.size}`, `versionId: ${r.versionId ?? '(bucket not versioned)'}`];
    if (r.modelUri) lines.push(`model:     ${r.modelUri}${args.alias ? ` (alias ${args.alias})` : ''}`);
    if (r.gates) {
      const { formatGateResults } = await import('../../pin/gates.js');
      lines.push('gates passed:', formatGateResults(r.gates.results).replace(/^/gm, '  '));
    }
    if (r.pinned) {
      const { formatChanges } = await import('../../pin/plan.js');
      lines.push(r.pinned.changed ? `pinned ${r.pinned.file}:\n${formatChanges(r.pinned.changes)}` : `pinned:    ${r.pinned.file} (already up to date)`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  }),
};

// One place that turns the usual AWS conventions into an S3Client, shared by fetch (GET) and by
// the pinning workflow (HeadObject, upload):
//   region      AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
//   endpoint    AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (MinIO, Ceph, R2, ...)
//   path style  MODELPIN_S3_FORCE_PATH_STYLE=true|1 (MinIO without wildcard DNS)
//   credentials static keys from the mounted Secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//               optional AWS_SESSION_TOKEN); else keys in `env`; else the SDK default chain
//               (env, shared config, web identity / IRSA, ECS, instance metadata).
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ModelpinError } from '../../src/errors.js';
import { readSecretKey } from './credentials.js';

export interface S3ClientOptions {
  credentialsDir?: string;
  env?: NodeJS.ProcessEnv;
  /** SDK-level attempts per request (default 3). The fetch engine retries bodies itself. */
  maxAttempts?: number;
  /** Socket idle timeout in ms (default 60 s): a stalled body fails and is resumed. */
  idleTimeoutMs?: number;
  /** Parallel connections (ranged GETs); default 16. */
  maxSockets?: number;
}

export function s3Settings(env: NodeJS.ProcessEnv): { region: string; endpoint?: string; forcePathStyle: boolean } {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const fps = (env.MODELPIN_S3_FORCE_PATH_STYLE ?? '').toLowerCase();
  return { region, ...(endpoint ? { endpoint } : {}), forcePathStyle: fps === 'true' || fps === '1' || fps === 'yes' };
}

export function createS3Client(opts: S3ClientOptions = {}): S3Client {
  const env = opts.env ?? process.env;
  const { region, endpoint, forcePathStyle } = s3Settings(env);
  if (endpoint !== undefined) {
    try {
      new URL(endpoint);
    } catch {
      throw new ModelpinError('MODELPIN_E_SERVE_CONFIG', `AWS_ENDPOINT_URL(_S3) "${endpoint}" is not a URL`, { hint: 'e.g. http://minio.minio.svc:9000' });
    }
  }
  const config: S3ClientConfig = {
    region,
    forcePathStyle,
    maxAttempts: opts.maxAttempts ?? 3,
    // Our own SHA-256 over the whole object is the integrity check; skip the SDK's CRC pass.
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Plain options (not a handler instance) so we need not depend on @smithy/node-http-handler.
    requestHandler: {
      connectionTimeout: 30_000,
      requestTimeout: opts.idleTimeoutMs ?? 60_000,
      httpAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 16 },
      httpsAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 16 },
    },
    ...(endpoint ? { endpoint } : {}),
  };
  const fromDir = staticKeys((k) => readSecretKey(opts.credentialsDir, k));
  // Only when the caller passed its own env do we read keys from it; process.env is covered by
  // the SDK's default chain, which also knows web identity, SSO and instance roles.
  const fromEnv = opts.env && opts.env !== process.env ? staticKeys((k) => opts.env?.[k] || undefined) : undefined;
  const credentials = fromDir ?? fromEnv;
  if (credentials) config.credentials = credentials;
  return new S3Client(config);
}

function staticKeys(get: (k: string) => string | undefined): S3ClientConfig['credentials'] | undefined {
  const accessKeyId = get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = get('AWS_SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = get('AWS_SESSION_TOKEN');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

// Shared helpers for the serve tests: write fixture models to a temp dir, start a real server on
// 127.0.0.1:0 through the real start-up path (fetchArtifact on a file:// URI, digest verified),
// and talk to it over real sockets.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';
import { silentLogger } from '../../../../sidecar/log.js';
import ort from 'onnxruntime-node';
import { serveConfig, type ServeConfig } from '../../../../sidecar/config.js';
import { startServe, type ServeHandle } from '../../../../sidecar/serve/index.js';
import { describeSignature, type RawValueMetadata, type Signature } from '../../../../sidecar/serve/signature.js';

export function sha256(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

export interface Fixture {
  dir: string;
  file: string;
  uri: string;
  digest: string;
  cleanup(): void;
}

export function writeModel(bytes: Uint8Array, name = 'model.onnx'): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'modelpin-serve-'));
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return { dir, file, uri: pathToFileURL(file).href, digest: sha256(bytes), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Running {
  handle: ServeHandle;
  base: string;
  url(path: string): string;
  stop(): Promise<void>;
}

/**
 * A serve config for tests: the real defaults (sidecar/config.ts) for `fx`, on 127.0.0.1:0, with
 * batching requested (32 rows), gRPC off, a 5 s drain bound and no drain delay; then `over`.
 */
export function testConfig(fx: Pick<Fixture, 'uri' | 'digest' | 'dir'>, over: Partial<ServeConfig> = {}): ServeConfig {
  const base = serveConfig(
    {
      uri: fx.uri,
      digest: fx.digest,
      name: 'm',
      port: '0',
      host: '127.0.0.1',
      'cache-dir': join(fx.dir, 'cache'),
      'max-batch-size': '32',
      // Off: tests run many servers at once; the gRPC tests pass a free port.
      'grpc-port': '0',
      'drain-timeout-seconds': '5',
      'drain-delay-seconds': '0',
    },
    {},
  );
  return { ...base, ...over };
}

export async function startServer(fx: Fixture, over: Partial<ServeConfig> = {}): Promise<Running> {
  const handle = await startServe(testConfig(fx, over), { fetch: fetchArtifact, log: silentLogger });
  const base = `http://127.0.0.1:${handle.port}`;
  return {
    handle,
    base,
    url: (p) => base + p,
    stop: async () => {
      await handle.ready.catch(() => {});
      await handle.shutdown();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export async function get(url: string): Promise<Reply> {
  const r = await fetch(url);
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: safeJson(text) };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: safeJson(text) };
}

function safeJson(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** The serving signature of a model, from an in-process ONNX Runtime session (as a worker derives it). */
export async function signatureOf(bytes: Uint8Array): Promise<Signature> {
  const s = await ort.InferenceSession.create(bytes);
  return describeSignature(s.inputMetadata as unknown as RawValueMetadata[], s.outputMetadata as unknown as RawValueMetadata[], 'model.onnx');
}

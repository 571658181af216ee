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
import { startServe, type ServeConfig, type ServeHandle } from '../../../../sidecar/serve/index.js';

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

export async function startServer(fx: Fixture, over: Partial<ServeConfig> = {}): Promise<Running> {
  const cfg: ServeConfig = {
    uri: fx.uri,
    digest: fx.digest,
    name: 'm',
    port: 0,
    host: '127.0.0.1',
    cacheDir: join(fx.dir, 'cache'),
    maxBatchSize: 32,
    maxBatchDelayMs: 0,
    maxQueue: 1024,
    threads: 1,
    maxBodyBytes: 16 * 1024 * 1024,
    drainTimeoutSeconds: 5,
    ...over,
  };
  const handle = await startServe(cfg, { fetch: fetchArtifact, log: silentLogger });
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

// The OCI source against small fake registries on real sockets (127.0.0.1, port 0), for what a
// real registry will not do on request: serve a manifest that does not hash to its digest, a huge
// one, a garbage challenge, a token realm over plain HTTP elsewhere, a token that expires, a
// blob server that ignores Range, a redirect loop. (Which hosts may speak plain HTTP is a table
// in oci-inputs.test.ts; no test here resolves a name outside the machine.)
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelpinError } from '../../../../src/errors.js';
import { fetchArtifact } from '../../../../sidecar/fetch/index.js';

const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const servers: Server[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, port: number) => void): Promise<number> {
  const srv = createServer((req, res) => handler(req, res, (srv.address() as { port: number }).port));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return (srv.address() as { port: number }).port;
}

function manifestFor(blob: Buffer): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 }, layers: [{ mediaType: 'application/octet-stream', digest: sha(blob), size: blob.length, annotations: { 'org.opencontainers.image.title': 'model.onnx' } }] }));
}

/** A minimal registry for one manifest + blob; `tweak` may answer first. */
function registry(blob: Buffer, manifest: Buffer, tweak?: (req: IncomingMessage, res: ServerResponse, port: number) => boolean, opts: { ranges?: boolean } = {}) {
  return (req: IncomingMessage, res: ServerResponse, port: number) => {
    if (tweak?.(req, res, port)) return;
    if (req.url?.includes('/manifests/')) {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': manifest.length }).end(manifest);
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (range && opts.ranges !== false) {
      const [s, e] = [Number(range[1]), Number(range[2])];
      res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${blob.length}`, 'content-length': e - s + 1 }).end(blob.subarray(s, e + 1));
      return;
    }
    res.writeHead(200, { 'content-length': blob.length }).end(blob);
  };
}

async function fetchOci(uri: string, digest: string, extra: Partial<Parameters<typeof fetchArtifact>[0]> = {}) {
  const cacheDir = mkdtempSync(join(tmpdir(), 'modelpin-oci-unit-'));
  dirs.push(cacheDir);
  return fetchArtifact({ uri, digest, cacheDir, progress: false, retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 }, env: {}, ...extra });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof ModelpinError) return `${e.code}: ${e.message}`;
    throw e;
  }
}

describe('OCI source against fake registries', () => {
  const blob = randomBytes(3 * 1024 * 1024 + 3);
  const manifest = manifestFor(blob);

  it('fetches with parallel ranges when Range works, and one stream when the registry ignores it', async () => {
    let ranged = 0;
    const p1 = await serve(registry(blob, manifest, (req) => ((ranged += req.headers.range ? 1 : 0), false)));
    const r1 = await fetchOci(`oci://127.0.0.1:${p1}/m@${sha(manifest)}`, sha(blob), { partSize: 1 << 20, concurrency: 4 });
    expect(r1.bytes).toBe(blob.length);
    expect(ranged).toBeGreaterThanOrEqual(5); // probe + 4 parts
    const p2 = await serve(registry(blob, manifest, undefined, { ranges: false }));
    const r2 = await fetchOci(`oci://127.0.0.1:${p2}/m@${sha(manifest)}`, sha(blob), { partSize: 1 << 20, concurrency: 4 });
    expect(r2.bytes).toBe(blob.length);
  });

  it('refuses a manifest that does not hash to the digest in the URI', async () => {
    const other = manifestFor(randomBytes(10));
    const port = await serve(registry(blob, other));
    expect(await codeOf(fetchOci(`oci://127.0.0.1:${port}/m@${sha(manifest)}`, sha(blob)))).toMatch(/^MODELPIN_E_DIGEST_MISMATCH: the manifest the registry served/);
  });

  it('refuses a manifest over 4 MiB, announced or streamed', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 32);
    const announced = await serve((req, res) => res.writeHead(200, { 'content-length': huge.length }).end(huge));
    expect(await codeOf(fetchOci(`oci://127.0.0.1:${announced}/m@${sha(huge)}`, sha(blob)))).toMatch(/^MODELPIN_E_OCI_MANIFEST: .*larger than the limit/);
    const chunked = await serve((req, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(1024 * 1024, 32));
      res.end();
    });
    expect(await codeOf(fetchOci(`oci://127.0.0.1:${chunked}/m@${sha(huge)}`, sha(blob)))).toMatch(/^MODELPIN_E_OCI_MANIFEST: .*larger than the limit/);
  });

  it('a 401 without a usable challenge, and a token realm over plain HTTP elsewhere, are refused', async () => {
    const garbage = await serve((req, res) => res.writeHead(401, { 'www-authenticate': '=;;' }).end());
    expect(await codeOf(fetchOci(`oci://127.0.0.1:${garbage}/m@${sha(manifest)}`, sha(blob)))).toMatch(/^MODELPIN_E_FETCH_DENIED: .*without a usable challenge/);
    const plain = await serve((req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.example.com/token",service="x"' }).end());
    expect(await codeOf(fetchOci(`oci://127.0.0.1:${plain}/m@${sha(manifest)}`, sha(blob)))).toMatch(/^MODELPIN_E_OCI_INSECURE: refusing to send registry credentials to http:\/\/auth.example.com/);
  });

  it('gets a new token when the first one expires mid-download', async () => {
    let issued = 0;
    const valid = new Set<string>();
    let served = 0;
    const port = await serve(
      registry(blob, manifest, (req, res, p) => {
        if (req.url?.startsWith('/token')) {
          const t = `t${++issued}`;
          valid.add(t);
          res.writeHead(200).end(JSON.stringify({ access_token: t }));
          return true;
        }
        const tok = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!tok || !valid.has(tok)) {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${p}/token",service="s",scope="repository:m:pull"` }).end();
          return true;
        }
        if (req.url?.includes('/blobs/') && ++served === 3) valid.delete(tok); // expires after the probe and one part
        return false;
      }),
    );
    const r = await fetchOci(`oci://127.0.0.1:${port}/m@${sha(manifest)}`, sha(blob), { partSize: 1 << 20, concurrency: 2 });
    expect(r.bytes).toBe(blob.length);
    expect(issued).toBe(2);
  });

  it('gives up on a redirect loop with MODELPIN_E_FETCH_REDIRECT', async () => {
    const port = await serve(
      registry(blob, manifest, (req, res) => {
        if (!req.url?.includes('/blobs/')) return false;
        res.writeHead(302, { location: req.url.endsWith('?a') ? req.url.replace(/\?a$/, '') : `${req.url}?a` }).end();
        return true;
      }),
    );
    expect(await codeOf(fetchOci(`oci://127.0.0.1:${port}/m@${sha(manifest)}`, sha(blob)))).toMatch(/^MODELPIN_E_FETCH_REDIRECT: redirect loop/);
  });
});

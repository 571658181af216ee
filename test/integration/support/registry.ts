// Real OCI registries and the real ORAS CLI for integration tests, on 127.0.0.1.
//
//   const reg = await startCrane();                 // go-containerregistry's registry, in memory
//   oras(['push', '--plain-http', `${reg.host}/models/fraud:v1`, 'model.onnx'], { cwd })
//   const front = await startAuthProxy(reg, { mode: 'basic', ... })   // auth in front of it
//
// crane's registry implements no auth, so auth is a small proxy here that enforces what real
// registries do (Basic, or the Bearer token flow with a token endpoint), records every request it
// sees, and can redirect blob GETs to a second host (as registries redirect to blob storage) or
// flip a byte in a blob (a compromised registry or path).
// Binaries: MODELPIN_CRANE_BIN / MODELPIN_ORAS_BIN, else ~/.cache/modelpin/bin/<name>, else PATH.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../tools/net.js';

export function findGoBinary(name: 'crane' | 'oras', env: NodeJS.ProcessEnv = process.env): string {
  const v = env[`MODELPIN_${name.toUpperCase()}_BIN`];
  if (v) {
    if (!existsSync(v)) throw new Error(`MODELPIN_${name.toUpperCase()}_BIN=${v} does not exist`);
    return v;
  }
  const cached = join(homedir(), '.cache/modelpin/bin', name);
  if (existsSync(cached)) return cached;
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${name} not found: set MODELPIN_${name.toUpperCase()}_BIN or run \`bash .ci/run\` (it builds ${name} into ~/.cache/modelpin/bin)`);
}

export interface Registry {
  /** 127.0.0.1:<port> */
  readonly host: string;
  readonly origin: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startCrane(): Promise<Registry> {
  const bin = findGoBinary('crane');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let log = '';
  const proc: ChildProcess = spawn(bin, ['registry', 'serve', '--address', host], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  let exited = false;
  proc.once('exit', () => (exited = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`crane registry exited during start-up:\n${log}`);
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`crane registry did not answer on ${host}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    origin: `http://${host}`,
    pid: proc.pid!,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await gone;
      }
    },
  };
}

/** Run the oras CLI; throws with its output when it fails. */
export function oras(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(findGoBinary('oras'), args, { cwd: opts.cwd, env: { ...process.env, ...opts.env, DOCKER_CONFIG: opts.env?.DOCKER_CONFIG ?? '/nonexistent' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`oras ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export interface SeenRequest {
  method: string;
  url: string;
  authorization?: string;
  range?: string;
}

export interface AuthProxyOptions {
  mode: 'basic' | 'token';
  username: string;
  password: string;
  /** token mode: anonymous clients get pull tokens (a public repository). */
  anonymousPull?: boolean;
  /** Answer blob GETs with 307 to this second host (which serves them without auth), as blob storage does. */
  redirectBlobs?: boolean;
  /** Flip one byte of every blob body served (a compromised registry). */
  tamperBlobs?: boolean;
}

export interface AuthProxy {
  readonly host: string;
  /** Requests seen by the registry front, the token endpoint, and the blob host. */
  readonly seen: { registry: SeenRequest[]; token: SeenRequest[]; blobHost: SeenRequest[] };
  stop(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function record(req: IncomingMessage): SeenRequest {
  return { method: req.method ?? '', url: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), ...(req.headers.range ? { range: String(req.headers.range) } : {}) };
}

/** Forward to the real registry; optionally corrupt one byte of the body. */
function forward(req: IncomingMessage, res: ServerResponse, target: Registry, path: string, tamper: boolean): void {
  const headers = { ...req.headers, host: target.host };
  delete headers.authorization;
  const up = httpRequest(`${target.origin}${path}`, { method: req.method, headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    if (!tamper) {
      r.pipe(res);
      return;
    }
    let first = true;
    r.on('data', (c: Buffer) => {
      if (first && c.length > 0) {
        c = Buffer.from(c);
        c[0] = c[0]! ^ 0xff;
        first = false;
      }
      res.write(c);
    });
    r.on('end', () => res.end());
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

export async function startAuthProxy(target: Registry, opts: AuthProxyOptions): Promise<AuthProxy> {
  const seen = { registry: [] as SeenRequest[], token: [] as SeenRequest[], blobHost: [] as SeenRequest[] };
  const [port, blobPort] = [await freePort(), await freePort()];
  const host = `127.0.0.1:${port}`;
  // A different host, not only another port: 127.0.0.2 is loopback too.
  const blobHost = `127.0.0.2:${blobPort}`;
  const basic = `Basic ${b64(`${opts.username}:${opts.password}`)}`;
  const tokens = new Map<string, Set<string>>(); // token → actions it grants

  const servers: Server[] = [];
  const listen = (srv: Server, p: number, h: string) => new Promise<void>((r) => srv.listen(p, h, () => r()));

  const registry = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/token')) {
      seen.token.push(record(req));
      const u = new URL(url, `http://${host}`);
      const wanted = (u.searchParams.getAll('scope')[0] ?? '').split(':')[2]?.split(',') ?? [];
      const withCreds = req.headers.authorization === basic;
      if (req.headers.authorization !== undefined && !withCreds) {
        res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return;
      }
      const granted = new Set(wanted.filter((a) => withCreds || (a === 'pull' && opts.anonymousPull)));
      const token = `tok-${Math.random().toString(36).slice(2)}`;
      tokens.set(token, granted);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    seen.registry.push(record(req));
    const push = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' || req.method === 'DELETE';
    const repo = /^\/v2\/(.+?)\/(manifests|blobs)\//.exec(url)?.[1] ?? '';
    let ok: boolean;
    if (opts.mode === 'basic') ok = req.headers.authorization === basic;
    else {
      const tok = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      ok = tok !== undefined && (tokens.get(tok)?.has(push ? 'push' : 'pull') ?? false);
    }
    if (!ok && url !== '/v2/' && url !== '/v2') {
      const challenge =
        opts.mode === 'basic'
          ? 'Basic realm="modelpin-test"'
          : `Bearer realm="http://${host}/token",service="modelpin-test",scope="repository:${repo}:${push ? 'pull,push' : 'pull'}"`;
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url);
    if (blob && req.method === 'GET' && opts.redirectBlobs) {
      // Presigned-looking query, like a storage redirect.
      res.writeHead(307, { location: `http://${blobHost}/storage/${blob[1]}/${blob[2]}?X-Signature=s3cr3t` }).end();
      return;
    }
    forward(req, res, target, url, Boolean(blob && req.method === 'GET' && opts.tamperBlobs));
  });
  const storage = createServer((req, res) => {
    seen.blobHost.push(record(req));
    const m = /^\/storage\/(.+)\/(sha256:[0-9a-f]{64})\?/.exec(req.url ?? '');
    if (!m || req.headers.authorization !== undefined) {
      // Like S3 with a presigned URL: a second credential is an error.
      res.writeHead(400).end('unexpected request');
      return;
    }
    forward(req, res, target, `/v2/${m[1]}/blobs/${m[2]}`, false);
  });
  servers.push(registry, storage);
  await listen(registry, port, '127.0.0.1');
  await listen(storage, blobPort, '127.0.0.2');
  return {
    host,
    seen,
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
    },
  };
}

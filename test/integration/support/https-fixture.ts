// An HTTP(S) file server with fault injection, for fetch tests. TLS uses a throwaway test CA
// generated with openssl into a temp dir (generateTestCa), so tests exercise real verification.
//
//   const ca = await generateTestCa(tmp);                    // caFile, cert, key (127.0.0.1, localhost)
//   const srv = await startFixture({ tls: ca });             // or {} for plain http
//   srv.route('/m.onnx', { body, faults: [{ kind: 'reset', after: 1000 }] });
//   srv.url('/m.onnx')  srv.requests  await srv.close()
//
// Route options: body (served with Range support), status, redirect (Location), headers,
// ignoreRange (always 200 + full body), chunked (no Content-Length), bytesPerSecond (slow body),
// faults: consumed one per request in order, then the route behaves normally:
//   {kind:'status', status}          answer with that status (e.g. 503)
//   {kind:'truncate', after}         declare the full length, send `after` bytes, end the socket
//   {kind:'reset', after}            send `after` bytes, then TCP RST (ECONNRESET on the client)
//   {kind:'stall', after}            send `after` bytes, then go silent (client idle timeout)
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  caFile: string;
  ca: string;
  cert: string;
  key: string;
}

/** A CA and a server certificate for 127.0.0.1 / localhost, valid for a day. */
export async function generateTestCa(dir: string): Promise<TestCa> {
  const p = (n: string) => join(dir, n);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=modelpin test CA', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  await import('node:fs/promises').then((fs) => fs.writeFile(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'));
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', p('ext.cnf'), '-out', p('server.pem')]);
  return { caFile: p('ca.pem'), ca: await readFile(p('ca.pem'), 'utf8'), cert: await readFile(p('server.pem'), 'utf8'), key: await readFile(p('server.key'), 'utf8') };
}

export type Fault = { kind: 'status'; status: number } | { kind: 'truncate'; after: number } | { kind: 'reset'; after: number } | { kind: 'stall'; after: number };

export interface Route {
  body?: Buffer;
  status?: number;
  redirect?: string;
  headers?: Record<string, string>;
  ignoreRange?: boolean;
  chunked?: boolean;
  bytesPerSecond?: number;
  faults?: Fault[];
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
}

export interface Fixture {
  /** https://127.0.0.1:<port> or http://... */
  readonly origin: string;
  url(path: string): string;
  route(path: string, r: Route): void;
  readonly requests: RecordedRequest[];
  /** Requests for one path, in order. */
  requestsFor(path: string): RecordedRequest[];
  close(): Promise<void>;
}

export async function startFixture(opts: { tls?: TestCa } = {}): Promise<Fixture> {
  const routes = new Map<string, Route>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  // Raw TCP sockets by client port: a TLS socket cannot send a RST itself, its TCP socket can.
  const rawByPort = new Map<number, Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ path: req.url ?? '/', headers: req.headers });
    const r = routes.get(path);
    if (!r) {
      res.writeHead(404).end('not found');
      return;
    }
    const fault = r.faults?.shift();
    if (fault?.kind === 'status') {
      res.writeHead(fault.status).end(`fault ${fault.status}`);
      return;
    }
    if (r.redirect) {
      res.writeHead(r.status ?? 302, { location: r.redirect }).end();
      return;
    }
    if (r.status && r.status !== 200) {
      res.writeHead(r.status, r.headers).end(`status ${r.status}`);
      return;
    }
    const body = r.body ?? Buffer.alloc(0);
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag: '"v1"', ...r.headers };
    let status = 200;
    if (m && !r.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const payload = body.subarray(start);
    if (!r.chunked) headers['content-length'] = String(payload.length);
    res.writeHead(status, headers);
    const limit = fault ? Math.min(fault.after, payload.length) : payload.length;
    const finish = () => {
      if (!fault) return void res.end();
      if (fault.kind === 'truncate') res.socket?.end();
      else if (fault.kind === 'reset') {
        const raw = rawByPort.get(res.socket?.remotePort ?? -1) ?? res.socket;
        raw?.resetAndDestroy();
      }
      // stall: leave the socket open and silent; close() destroys it.
    };
    if (!r.bytesPerSecond) {
      res.write(payload.subarray(0, limit), () => finish());
      return;
    }
    // Slow body: 20 writes per second.
    const step = Math.max(1, Math.floor(r.bytesPerSecond / 20));
    let off = 0;
    const tick = () => {
      if (res.destroyed) return;
      const n = Math.min(step, limit - off);
      res.write(payload.subarray(off, off + n));
      off += n;
      if (off >= limit) return finish();
      const t = setTimeout(tick, 50);
      timers.add(t);
    };
    tick();
  };

  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    const port = s.remotePort ?? -1;
    rawByPort.set(port, s);
    s.on('close', () => {
      sockets.delete(s);
      rawByPort.delete(port);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const origin = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    origin,
    url: (p) => origin + p,
    route: (p, r) => routes.set(p, { ...r, faults: [...(r.faults ?? [])] }),
    requests,
    requestsFor: (p) => requests.filter((q) => q.path === p),
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

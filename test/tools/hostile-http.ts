// A hostile HTTP/1.1 server on 127.0.0.1 written on raw TCP, so a test can send exactly the
// bytes it wants: wrong Content-Range, a body cut at any byte, a TCP reset, a 1 byte/s drip, a
// stall, a range ignored. Each request is answered by a plan the test chooses per request.
//
//   const srv = await startHostile((req) => ({ kind: 'truncate', after: 100 }));
//   srv.url('/m.onnx')   srv.requests   await srv.close()
import { createServer, type Socket } from 'node:net';

export interface HostileRequest {
  /** 1-based count of requests to this server. */
  n: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Start of a `Range: bytes=<start>-` request, if any. */
  rangeStart?: number;
}

/**
 * What to answer. `body` is the artifact; `start` the offset served (default: the range asked
 * for, or 0); `declare` the Content-Length written (default: the bytes from `start` to the end).
 */
export type Plan =
  | { kind: 'ok'; ignoreRange?: boolean }
  | { kind: 'status'; status: number }
  /** Send `after` body bytes, then FIN (a short body for the declared length). */
  | { kind: 'truncate'; after: number; ignoreRange?: boolean }
  /** Send `after` body bytes, then RST. */
  | { kind: 'reset'; after: number; ignoreRange?: boolean }
  /** Send `after` body bytes, then nothing, socket left open. */
  | { kind: 'stall'; after: number }
  /** One byte every `everyMs` (from the offset asked for), forever or until the body ends. */
  | { kind: 'drip'; everyMs: number }
  /** 206 with a Content-Range whose start is not the one asked for (bytes from `servedFrom`). */
  | { kind: 'wrong-range'; servedFrom: number }
  /** 206 without any Content-Range. */
  | { kind: 'no-content-range' }
  /** The right headers, but byte `at` (relative to the artifact) flipped. */
  | { kind: 'corrupt'; at: number; ignoreRange?: boolean }
  /** Content-Length announces more than the artifact has; sends all real bytes, then FIN. */
  | { kind: 'overlong'; extra: number }
  /** Sends the artifact plus `extra` junk bytes (no Content-Length: connection close delimits). */
  | { kind: 'trailing-junk'; extra: number }
  /** Close the connection before any response. */
  | { kind: 'hangup' };

export interface HostileServer {
  readonly origin: string;
  url(path: string): string;
  readonly requests: HostileRequest[];
  close(): Promise<void>;
}

export async function startHostile(body: Buffer, plan: (req: HostileRequest) => Plan): Promise<HostileServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: HostileRequest[] = [];
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    timers.add(t);
  };

  const answer = (sock: Socket, req: HostileRequest) => {
    const p = plan(req);
    const head = (status: number, headers: Record<string, string | number>) => {
      const lines = [`HTTP/1.1 ${status} ${status === 200 ? 'OK' : status === 206 ? 'Partial Content' : 'X'}`, 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      sock.write(lines.join('\r\n') + '\r\n\r\n');
    };
    const ranged = (ignore?: boolean) => req.rangeStart !== undefined && !ignore && req.rangeStart < body.length;
    const standard = (ignore?: boolean): { start: number } => {
      if (ranged(ignore)) {
        const start = req.rangeStart!;
        head(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, etag: '"v1"' });
        return { start };
      }
      head(200, { 'content-length': body.length, etag: '"v1"', 'accept-ranges': 'bytes' });
      return { start: 0 };
    };
    switch (p.kind) {
      case 'ok': {
        const { start } = standard(p.ignoreRange);
        sock.end(body.subarray(start));
        return;
      }
      case 'status':
        head(p.status, { 'content-length': 0 });
        sock.end();
        return;
      case 'truncate':
      case 'reset': {
        const { start } = standard(p.ignoreRange);
        const kind = p.kind;
        sock.write(body.subarray(start, start + p.after), () => {
          if (kind === 'truncate') sock.end();
          else sock.resetAndDestroy();
        });
        return;
      }
      case 'stall': {
        const { start } = standard();
        sock.write(body.subarray(start, start + p.after));
        return;
      }
      case 'drip': {
        let { start } = standard();
        const tick = () => {
          if (sock.destroyed || start >= body.length) return void sock.end();
          sock.write(body.subarray(start, start + 1));
          start++;
          later(p.everyMs, tick);
        };
        tick();
        return;
      }
      case 'wrong-range': {
        const from = Math.min(p.servedFrom, body.length - 1);
        head(206, { 'content-length': body.length - from, 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` });
        sock.end(body.subarray(from));
        return;
      }
      case 'no-content-range': {
        const start = req.rangeStart ?? 0;
        head(206, { 'content-length': body.length - start });
        sock.end(body.subarray(start));
        return;
      }
      case 'corrupt': {
        const { start } = standard(p.ignoreRange);
        const copy = Buffer.from(body.subarray(start));
        const i = p.at - start;
        if (i >= 0 && i < copy.length) copy[i] = copy[i]! ^ 0xff;
        sock.end(copy);
        return;
      }
      case 'overlong': {
        head(200, { 'content-length': body.length + p.extra });
        sock.end(body);
        return;
      }
      case 'trailing-junk': {
        head(200, {});
        sock.end(Buffer.concat([body, Buffer.alloc(p.extra, 0x5a)]));
        return;
      }
      case 'hangup':
        sock.destroy();
        return;
    }
  };

  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [line, ...rest] = buf.slice(0, end).split('\r\n');
      buf = '';
      const [method = '', path = ''] = (line ?? '').split(' ');
      const headers: Record<string, string> = {};
      for (const h of rest) {
        const i = h.indexOf(':');
        if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
      }
      const m = /^bytes=(\d+)-$/.exec(headers.range ?? '');
      const req: HostileRequest = { n: requests.length + 1, method, path, headers, ...(m ? { rangeStart: Number(m[1]) } : {}) };
      requests.push(req);
      sock.removeAllListeners('data');
      sock.on('data', () => {});
      answer(sock, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    origin,
    url: (p) => origin + p,
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The fuzzers' seeded PRNG (mulberry32, builder.ts): they replay exactly from their seed. */
export { seededRandom as seeded } from '../fixtures/onnx/builder.js';

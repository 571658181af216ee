// The Open Inference Protocol over REST, on node:http. No framework: the hot path is one string
// comparison for the route, one body read, decode → queue → encode, one write. Everything else
// (health, metadata, config, statistics, metrics) is answered from the service on the event
// loop, which inference never blocks (it runs in worker threads). No request can end the
// process: every handler runs under a catch that answers 500 and logs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isModelpinError, ModelpinError, wireStatus } from '../../../src/errors.js';
import { quote, quoteName } from '../../../src/quote.js';
import type { Logger } from '../../log.js';
import type { InferenceService } from '../service.js';
import { decodeRequest, encodeResponse } from './codec.js';

export interface RestOptions {
  service: InferenceService;
  maxBodyBytes: number;
  log: Logger;
  /** One JSON log line per request. */
  accessLog: boolean;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/**
 * Content-Length and Inference-Header-Content-Length from rawHeaders: `req.headers` is built on
 * first access, an object per request the infer path otherwise never needs. Repeated headers are
 * joined with ", " as Node does, so a conflicting repeat fails the number check.
 */
function bodyHeaders(raw: string[]): [string | undefined, string | undefined] {
  let length: string | undefined;
  let header: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') length = length === undefined ? raw[i + 1] : `${length}, ${raw[i + 1]}`;
    else if (name.length === 31 && name.toLowerCase() === 'inference-header-content-length') header = header === undefined ? raw[i + 1] : `${header}, ${raw[i + 1]}`;
  }
  return [length, header];
}

/** A parsed route: what the path names, and the methods it takes. */
type Route =
  | { kind: 'live' | 'ready' | 'server' | 'metrics' | 'repository-index' }
  | { kind: 'model' | 'model-ready' | 'infer' | 'config' | 'stats'; model: string; version?: string }
  | { kind: 'all-stats' };

const METHODS: Record<Route['kind'], readonly string[]> = {
  live: ['GET', 'HEAD'],
  ready: ['GET', 'HEAD'],
  server: ['GET', 'HEAD'],
  metrics: ['GET', 'HEAD'],
  'repository-index': ['POST'],
  model: ['GET', 'HEAD'],
  'model-ready': ['GET', 'HEAD'],
  infer: ['POST'],
  config: ['GET', 'HEAD'],
  stats: ['GET', 'HEAD'],
  'all-stats': ['GET', 'HEAD'],
};

const MODEL_SUFFIX: Record<string, 'model-ready' | 'infer' | 'config' | 'stats'> = { ready: 'model-ready', infer: 'infer', config: 'config', stats: 'stats' };

/** Decode one path segment; a malformed escape is the client's mistake (400), never a crash. */
function segment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ModelpinError('MODELPIN_E_INFER_INVALID', `the path segment ${quote(s)} is not valid percent-encoding`);
  }
}

/** The route a path names, or undefined (404). */
export function parseRoute(path: string): Route | undefined {
  switch (path) {
    case '/v2/health/live':
      return { kind: 'live' };
    case '/v2/health/ready':
      return { kind: 'ready' };
    case '/v2':
    case '/v2/':
      return { kind: 'server' };
    case '/metrics':
      return { kind: 'metrics' };
    case '/v2/repository/index':
      return { kind: 'repository-index' };
    case '/v2/models/stats':
      return { kind: 'all-stats' };
  }
  if (!path.startsWith('/v2/models/')) return undefined;
  const parts = path.slice('/v2/models/'.length).split('/');
  if (parts[0] === '') return undefined;
  const model = segment(parts[0]!);
  let i = 1;
  let version: string | undefined;
  if (parts[i] === 'versions') {
    if (parts[i + 1] === undefined || parts[i + 1] === '') return undefined;
    version = segment(parts[i + 1]!);
    i += 2;
  }
  const withVersion = <T extends object>(r: T) => (version === undefined ? r : { ...r, version });
  if (i === parts.length) return withVersion({ kind: 'model' as const, model });
  if (i === parts.length - 1 && MODEL_SUFFIX[parts[i]!]) return withVersion({ kind: MODEL_SUFFIX[parts[i]!]!, model });
  return undefined;
}

export class RestServer {
  readonly http: http.Server;
  private readonly inferPaths: string[];
  private responseHead: string;

  constructor(private readonly opts: RestOptions) {
    const { service } = opts;
    const base = `/v2/models/${encodeURIComponent(service.name)}`;
    const bases = service.version === undefined ? [base] : [base, `${base}/versions/${encodeURIComponent(service.version)}`];
    this.inferPaths = bases.map((b) => b + '/infer');
    this.responseHead = `{"model_name":${JSON.stringify(service.name)}` + (service.version === undefined ? '' : `,"model_version":${JSON.stringify(service.version)}`);
    this.http = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    // Bound what one connection can make us hold: headers, slow bodies.
    this.http.headersTimeout = 30_000;
    this.http.requestTimeout = 120_000;
  }

  async listen(port: number, host?: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, port, host));
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    return (this.http.address() as AddressInfo).port;
  }

  /** Stop accepting connections; idle keep-alive connections go at once, busy ones after their answer. */
  stopAccepting(): void {
    this.http.close();
    this.http.closeIdleConnections();
  }

  closeAll(): void {
    this.http.close();
    this.http.closeAllConnections();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    if (this.opts.accessLog) {
      res.once('finish', () =>
        this.opts.log.info('request', {
          method: req.method,
          path: (req.url ?? '').slice(0, 200),
          status: res.statusCode,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          protocol: 'rest',
        }),
      );
    }
    try {
      this.route(req, res, started);
    } catch (err) {
      this.fail(req, res, err);
    }
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, started: number): void {
    let url = req.url ?? '/';
    const q = url.indexOf('?');
    if (q >= 0) url = url.slice(0, q);
    // The hot path first: one comparison.
    if (req.method === 'POST' && (url === this.inferPaths[0] || url === this.inferPaths[1])) return this.infer(req, res, started);
    const route = parseRoute(url);
    if (!route) {
      req.resume();
      throw new ModelpinError('MODELPIN_E_NOT_FOUND', `no route for ${quoteName(req.method)} ${quoteName(url)}`);
    }
    const allowed = METHODS[route.kind];
    if (!allowed.includes(req.method ?? '')) {
      req.resume();
      const err = new ModelpinError('MODELPIN_E_METHOD', `method ${quoteName(req.method)} is not allowed on ${quoteName(url)}; use ${allowed.filter((m) => m !== 'HEAD').join(' or ')}`);
      return this.sendError(res, err, { Allow: allowed.join(', ') });
    }
    const svc = this.opts.service;
    if ('model' in route) svc.checkModel(route.model, route.version);
    switch (route.kind) {
      case 'infer':
        return this.infer(req, res, started);
      case 'live':
        return this.send(res, 200, { live: true });
      case 'ready': {
        const why = svc.notReadyReason();
        return why === undefined ? this.send(res, 200, { ready: true }) : this.send(res, 503, { ready: false, error: `not ready: ${why}` });
      }
      case 'server':
        return this.send(res, 200, { name: 'modelpin', version: svc.opts.serverVersion, extensions: ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration'] });
      case 'metrics':
        return void this.metrics(res).catch((err) => this.fail(req, res, err));
      case 'model-ready': {
        const body = { name: svc.name, ready: svc.isReady };
        return svc.isReady ? this.send(res, 200, body) : this.send(res, 503, { ...body, error: svc.notReadyError().message });
      }
      case 'model':
        return this.send(res, 200, svc.metadata());
      case 'config':
        return this.send(res, 200, svc.config());
      case 'stats':
      case 'all-stats':
        return this.send(res, 200, svc.statistics());
      case 'repository-index': {
        req.resume();
        const entry = { name: svc.name, ...(svc.version === undefined ? {} : { version: svc.version }), state: svc.isReady ? 'READY' : 'UNAVAILABLE' };
        return this.send(res, 200, [entry]);
      }
    }
  }

  private async metrics(res: http.ServerResponse): Promise<void> {
    const reg = this.opts.service.opts.metrics.registry;
    const text = await reg.metrics();
    res.writeHead(200, { 'Content-Type': reg.contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
    const text = JSON.stringify(body);
    if (this.opts.service.isDraining) res.shouldKeepAlive = false;
    res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private sendError(res: http.ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = wireStatus(err).http;
    const code = (err as { code?: string }).code;
    if (code === 'MODELPIN_E_OVERLOADED') headers['Retry-After'] = '1';
    if (status === 413) headers.Connection = 'close';
    this.send(res, status, { error: (err as Error).message }, headers);
  }

  /** Any failure of a request: coded errors as their status, anything else as a logged 500. */
  private fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
    if (!isModelpinError(err)) {
      this.opts.log.error('request failed unexpectedly', { method: req.method, path: (req.url ?? '').slice(0, 200), error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      err = new ModelpinError('MODELPIN_E_INFER_FAILED', 'internal error while handling the request (logged by the server)');
    }
    try {
      this.sendError(res, err);
    } catch {
      res.destroy();
    }
  }

  private infer(req: http.IncomingMessage, res: http.ServerResponse, started: number): void {
    const svc = this.opts.service;
    let done = false;
    let held = 0;
    let admitted = false;
    const finish = (ok: boolean, send: () => void) => {
      if (done) return;
      done = true;
      svc.release(held);
      try {
        send();
      } finally {
        if (admitted) svc.settle(ok, started);
      }
    };
    const fail = (err: unknown) => {
      if (!isModelpinError(err)) this.opts.log.error('inference failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      else if ((err as ModelpinError).code === 'MODELPIN_E_INFER_FAILED') this.opts.log.error('inference failed', { error: (err as Error).message });
      finish(false, () => this.fail(req, res, err));
    };
    try {
      admitted = true;
      svc.admit();
      const limit = this.opts.maxBodyBytes;
      const [contentLength, h] = bodyHeaders(req.rawHeaders);
      const declared = Number(contentLength);
      if (declared > limit) {
        fail(new ModelpinError('MODELPIN_E_TOO_LARGE', `request body of ${declared} bytes exceeds the limit of ${limit} bytes (--max-body-bytes)`));
        req.destroy();
        return;
      }
      if (declared > 0) svc.checkRoom(declared);
      let hdrLen: number | undefined;
      if (h !== undefined) {
        hdrLen = Number(h);
        if (!Number.isSafeInteger(hdrLen) || hdrLen < 0) {
          throw new ModelpinError('MODELPIN_E_INFER_INVALID', `Inference-Header-Content-Length must be a non-negative integer, got ${quote(h)}`);
        }
      }
      this.readBody(req, limit, (c) => {
        held += c;
        svc.hold(c);
      }, (err, body) => {
        if (done) return;
        if (err) return fail(err);
        const sig = svc.signature;
        if (!sig) return fail(svc.notReadyError());
        let decoded;
        try {
          decoded = decodeRequest(body!, sig, hdrLen === undefined ? { rules: svc.rules } : { rules: svc.rules, headerLength: hdrLen });
        } catch (e) {
          return fail(e);
        }
        svc.infer(decoded, (e, r) => {
          if (e) return fail(e);
          let enc;
          try {
            enc = encodeResponse(this.responseHead, sig, decoded, r!.outputs);
          } catch (x) {
            return fail(x);
          }
          finish(true, () => {
            if (svc.isDraining) res.shouldKeepAlive = false;
            res.writeHead(
              200,
              enc.headerLength === undefined
                ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(enc.body) }
                : { 'Content-Type': 'application/octet-stream', 'Content-Length': enc.body.length, 'Inference-Header-Content-Length': enc.headerLength },
            );
            res.end(enc.body);
          });
        });
      });
    } catch (err) {
      req.resume();
      fail(err);
    }
  }

  /** Read a body up to `limit` bytes; `onChunk` may throw to refuse (held-bytes bound). */
  private readBody(req: http.IncomingMessage, limit: number, onChunk: (bytes: number) => void, cb: (err: unknown, body?: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      try {
        if (size > limit) throw new ModelpinError('MODELPIN_E_TOO_LARGE', `request body exceeds the limit of ${limit} bytes (--max-body-bytes)`);
        onChunk(c.length);
      } catch (err) {
        over = true;
        cb(err);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    // A client that goes away mid-upload must not leak its in-flight slot and held bytes: Node
    // destroys the request with an "aborted" error.
    req.on('error', () => {
      if (over) return;
      over = true;
      cb(
        new ModelpinError(
          'MODELPIN_E_INFER_INVALID',
          req.complete ? 'the request body could not be read' : 'the client closed the connection before sending the whole body',
        ),
      );
    });
    req.on('end', () => {
      if (over) return;
      cb(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  }
}

/** A listen failure as the user error it is: the port is taken or not ours to bind. */
function listenError(err: NodeJS.ErrnoException, port: number, host: string | undefined): Error {
  const where = `${host ?? '*'}:${port}`;
  if (err.code === 'EADDRINUSE') {
    return new ModelpinError('MODELPIN_E_SERVE_CONFIG', `cannot listen on ${where}: the port is already in use (EADDRINUSE)`, {
      hint: 'stop the process using it, or pick another --port (0 picks a free one)',
    });
  }
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new ModelpinError('MODELPIN_E_SERVE_CONFIG', `cannot listen on ${where}: permission denied (${err.code})`, {
      hint: 'ports below 1024 need privileges; use a port ≥ 1024',
    });
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new ModelpinError('MODELPIN_E_SERVE_CONFIG', `cannot listen on ${where}: the address is not available on this host (${err.code})`, {
      hint: 'pass --host with an address of this machine, or leave it unset for all interfaces',
    });
  }
  return err;
}

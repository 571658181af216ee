// https:// and http:// via undici. Redirects are followed by hand so that (a) the hop count is
// bounded and loops are detected, (b) credentials are never sent to another origin, and (c) an
// https → http downgrade is refused. Resumption uses Range (+ If-Range with a strong ETag), and
// the caller learns from `start` whether the server honoured it.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { ModelpinError } from '../../src/errors.js';
import { readSecretKey } from './credentials.js';
import { classifyNetworkError } from './net-errors.js';
import { RetryableError, type Opened, type Source, type SourceContext } from './types.js';

export const MAX_REDIRECTS = 5;

export interface HttpSourceOptions {
  /** No body bytes for this long counts as a transient failure (default 60 s). */
  idleTimeoutMs?: number;
}

/** The Authorization header value from the credentials dir or the environment, if any. */
export function httpAuthorization(ctx: Pick<SourceContext, 'credentialsDir' | 'env'>): string | undefined {
  const verbatim = readSecretKey(ctx.credentialsDir, 'authorization');
  if (verbatim) return verbatim;
  const token = readSecretKey(ctx.credentialsDir, 'token');
  if (token) return `Bearer ${token}`;
  const envVerbatim = ctx.env.MODELPIN_HTTP_AUTHORIZATION;
  if (envVerbatim) return envVerbatim;
  const envToken = ctx.env.MODELPIN_HTTP_TOKEN;
  if (envToken) return `Bearer ${envToken}`;
  return undefined;
}

/** The URL without query string (presigned URLs carry signatures there) for messages and logs. */
export function redactUrl(u: URL | string): string {
  const url = new URL(u.toString());
  const hadQuery = url.search !== '';
  url.search = '';
  url.username = '';
  url.password = '';
  return url.toString() + (hadQuery ? '?…' : '');
}

/** The system roots plus --ca-file's PEM bundle (shared by the HTTPS and OCI registry sources). */
export function loadCa(caFile: string): string[] {
  try {
    return [...rootCertificates, readFileSync(caFile, 'utf8')];
  } catch (e) {
    throw new ModelpinError('MODELPIN_E_FETCH_TLS', `cannot read the CA bundle ${caFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'mount a PEM file and pass its path with --ca-file',
    });
  }
}

/** The fields of undici 7's HTTP/1 parser (client-h1.js) the guard below touches. */
interface H1Parser {
  paused?: unknown;
  resume?: unknown;
  ptr?: unknown;
  llhttp?: { llhttp_resume?: unknown };
}

/**
 * Work around undici 7's crash when a connection ends while the response body is paused by
 * backpressure (nodejs/undici#5360): its socket 'end', 'error' (ECONNRESET) and 'close'
 * handlers call the HTTP parser's finish(), which asserts that the parser is not paused; the
 * AssertionError escapes as an uncaught exception that kills the process, and the request
 * hangs. Any server that answers `Connection: close` (or HTTP/1.0) triggers it whenever our
 * reader is behind when the connection ends (FIN or RST); a server truncating every response
 * crashed the sidecar. Undici fixed it in 8.x (#5474, which needs Node ≥ 22.19; the 7.x
 * backport is not released). Until then listeners that run before undici's do what that fix
 * does: let the parser take what the socket still holds, then lift a pause that has nothing
 * left to parse, so undici's own handling reports the truncation as an error (or completes a
 * body delimited by the close) instead of asserting. Touches nothing unless the parser is
 * paused with the fields used here, so it is inert on an undici without the bug. Remove it
 * when undici is upgraded.
 */
export function resumeParserOnEnd(socket: Socket): void {
  const unpause = () => {
    const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'parser');
    const parser = key === undefined ? undefined : (socket as unknown as Record<symbol, H1Parser | undefined>)[key];
    if (parser?.paused !== true) return;
    try {
      // resume() parses what the socket still holds (or nothing), which is how a body whose
      // last bytes were paused reaches its end of message; again only while data is left.
      for (let i = 0; i < 16 && !socket.destroyed && parser.paused === true && (i === 0 || socket.readableLength > 0) && typeof parser.resume === 'function'; i++) {
        (parser.resume as () => void)();
      }
      const llhttp = parser.llhttp;
      if (parser.paused === true && typeof llhttp?.llhttp_resume === 'function' && typeof parser.ptr === 'number') {
        (llhttp.llhttp_resume as (ptr: number) => void)(parser.ptr);
        parser.paused = false;
      }
    } catch {
      // Leave it to undici: this guard must never add a failure of its own.
    }
  };
  for (const event of ['end', 'error', 'close'] as const) socket.prependListener(event, unpause);
}

export function httpSource(url: string, ctx: SourceContext, opts: HttpSourceOptions = {}): Source {
  const origin = new URL(url);
  const describe = redactUrl(origin);
  const idle = opts.idleTimeoutMs ?? ctx.idleTimeoutMs ?? 60_000;
  const connector = buildConnector({ ...(ctx.caFile ? { ca: loadCa(ctx.caFile) } : {}), timeout: Math.min(idle, 30_000) });
  const agent = new Agent({
    connect: (o, cb) =>
      connector(o, (...args) => {
        if (args[1]) resumeParserOnEnd(args[1]);
        cb(...args);
      }),
    headersTimeout: idle,
    bodyTimeout: idle,
  });
  const authorization = httpAuthorization(ctx);
  // A strong validator from the first full response, so a resumed range is known to belong to
  // the same representation (If-Range: the server sends 200 + everything if it changed).
  let etag: string | undefined;

  async function get(offset: number, signal: AbortSignal): Promise<Opened> {
    let current = new URL(origin);
    const seen = new Set<string>([current.href]);
    for (let hops = 0; ; hops++) {
      const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'modelpin' };
      // Credentials go only to the origin the user named: never across a redirect to another
      // scheme/host/port (a presigned-URL redirect to a bucket must not see the token).
      if (authorization && current.origin === origin.origin) headers.authorization = authorization;
      if (offset > 0) {
        headers.range = `bytes=${offset}-`;
        if (etag) headers['if-range'] = etag;
      }
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, { method: 'GET', headers, dispatcher: agent, signal });
      } catch (e) {
        throw classifyNetworkError(e, redactUrl(current), ctx.caFile);
      }
      const status = res.statusCode;
      if (status === 301 || status === 302 || status === 303 || status === 307 || status === 308) {
        discard(res.body);
        const loc = headerValue(res.headers.location);
        if (!loc) throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${redactUrl(current)} answered ${status} without a Location header`);
        let next: URL;
        try {
          next = new URL(loc, current);
        } catch {
          throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${redactUrl(current)} redirected to an invalid Location`);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${describe} redirected to unsupported scheme ${next.protocol}`);
        }
        if (current.protocol === 'https:' && next.protocol === 'http:') {
          throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${describe} redirected from https to plain http (${redactUrl(next)}); refused`, {
            hint: 'fix the server so the artifact stays on https, or use the final http:// URL explicitly',
          });
        }
        if (seen.has(next.href)) {
          throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `redirect loop: ${redactUrl(current)} → ${redactUrl(next)} was already visited`, {
            hint: 'the server keeps redirecting in a circle; point --uri at the final location',
          });
        }
        if (hops + 1 > MAX_REDIRECTS) {
          throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `more than ${MAX_REDIRECTS} redirects starting at ${describe}`, {
            hint: 'point --uri at the final location',
          });
        }
        seen.add(next.href);
        current = next;
        continue;
      }
      if (status === 200 || status === 206) {
        const body = res.body;
        const len = numberHeader(res.headers['content-length']);
        if (status === 200) {
          const tag = headerValue(res.headers.etag);
          if (tag && !tag.startsWith('W/')) etag = tag;
          return { body, start: 0, ...(len === undefined ? {} : { totalSize: len }), destroy: () => discard(body) };
        }
        const range = parseContentRange(headerValue(res.headers['content-range']));
        if (!range) {
          discard(body);
          throw new RetryableError(`${redactUrl(current)} answered 206 without a usable Content-Range`);
        }
        return { body, start: range.start, ...(range.total === undefined ? {} : { totalSize: range.total }), destroy: () => discard(body) };
      }
      discard(res.body);
      if (status === 416 && offset > 0) {
        // Our offset is past the end: the representation changed. Start over from byte 0.
        etag = undefined;
        return get(0, signal);
      }
      throw statusError(status, redactUrl(current), current.origin !== origin.origin);
    }
  }

  return {
    describe,
    async stat() {
      // No HEAD: presigned URLs are often signed for GET only. Sizes come from the GET response.
      return {};
    },
    open: get,
    async close() {
      await agent.close();
    },
  };
}

/** Drop a body we will not read. An error listener first: undici emits AbortError on destroy. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function statusError(status: number, where: string, redirected: boolean): Error {
  if (status === 401 || status === 403) {
    return new ModelpinError('MODELPIN_E_FETCH_DENIED', `${where} answered HTTP ${status}`, {
      hint: redirected
        ? 'the redirect target refused the request (credentials are not forwarded to another host; presigned URLs may have expired)'
        : 'check the token / authorization key in the credentials Secret (--credentials-dir) or MODELPIN_HTTP_TOKEN',
    });
  }
  if (status === 404 || status === 410) {
    return new ModelpinError('MODELPIN_E_FETCH_NOT_FOUND', `${where} answered HTTP ${status}`, { hint: 'check the artifact URI' });
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return new RetryableError(`${where} answered HTTP ${status}`);
  }
  return new ModelpinError('MODELPIN_E_FETCH_NETWORK', `${where} answered HTTP ${status}`, { hint: 'the server refused the request; check the URI' });
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

function numberHeader(h: string | string[] | undefined): number | undefined {
  const v = headerValue(h);
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** `bytes 100-199/1000` → {start: 100, total: 1000}; `bytes 100-199/*` → {start: 100}. */
export function parseContentRange(h: string | undefined): { start: number; total?: number } | undefined {
  const m = h && /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h.trim());
  if (!m) return undefined;
  return m[3] === '*' ? { start: Number(m[1]) } : { start: Number(m[1]), total: Number(m[3]) };
}

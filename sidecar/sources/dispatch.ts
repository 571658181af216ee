// One HTTP dispatch (undici `request` on one Agent) and wrappers around it. A wrapper takes a Send
// and returns a Send, so cross-cutting behaviour (following redirects, registry auth) is written once
// and composed, e.g. followRedirects(registryAuth(undiciSend(agent))): the auth layer sits inside the
// redirect layer, so it sees every hop and attaches credentials only to the origin it serves; a
// redirect to blob storage elsewhere reaches the network without them.
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { ModelpinError } from '../../src/errors.js';
import { classifyNetworkError } from './net-errors.js';

export interface HttpRequest {
  url: URL;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, string>;
  /** A Buffer can be sent again (after a 401 challenge); a stream factory is called once per attempt. */
  body?: Uint8Array | (() => Readable);
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
}

export type Send = (req: HttpRequest) => Promise<HttpResponse>;

/** The one network call: undici on the given Agent; network errors classified (TLS permanent, rest retryable). */
export function undiciSend(agent: Dispatcher, opts: { caFile?: string; describe?: (u: URL) => string } = {}): Send {
  const describe = opts.describe ?? redactedUrl;
  return async (req) => {
    try {
      const body = typeof req.body === 'function' ? req.body() : req.body;
      const res = await request(req.url, {
        method: req.method,
        headers: req.headers,
        ...(body === undefined ? {} : { body }),
        dispatcher: agent,
        ...(req.signal ? { signal: req.signal } : {}),
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, url: req.url };
    } catch (e) {
      throw classifyNetworkError(e, describe(req.url), opts.caFile);
    }
  };
}

export const MAX_REDIRECTS = 5;

/**
 * Follow 301/302/303/307/308 for GET and HEAD: at most `max` hops, loops detected, https → http
 * refused, unsupported schemes refused. Each hop is a fresh request through `inner`, with the
 * caller's headers minus anything that identifies the caller to a foreign origin.
 */
export function followRedirects(inner: Send, opts: { max?: number; describe?: (u: URL) => string } = {}): Send {
  const max = opts.max ?? MAX_REDIRECTS;
  const describe = opts.describe ?? redactedUrl;
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return inner(req);
    const first = req.url;
    const seen = new Set<string>([first.href]);
    let current = first;
    for (let hops = 0; ; hops++) {
      const headers = current.origin === first.origin ? req.headers : withoutCredentials(req.headers);
      const res = await inner({ ...req, url: current, headers });
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      discardBody(res.body);
      const loc = headerValue(res.headers.location);
      if (!loc) throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${describe(current)} answered ${res.status} without a Location header`);
      let next: URL;
      try {
        next = new URL(loc, current);
      } catch {
        throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${describe(current)} redirected to an invalid Location`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${describe(first)} redirected to unsupported scheme ${next.protocol}`);
      }
      if (current.protocol === 'https:' && next.protocol === 'http:') {
        throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `${describe(first)} redirected from https to plain http (${redactedUrl(next)}); refused`, {
          hint: 'fix the server (or its storage redirect) so the bytes stay on https',
        });
      }
      if (seen.has(next.href)) {
        throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `redirect loop: ${describe(current)} → ${redactedUrl(next)} was already visited`);
      }
      if (hops + 1 > max) throw new ModelpinError('MODELPIN_E_FETCH_REDIRECT', `more than ${max} redirects starting at ${describe(first)}`);
      seen.add(next.href);
      current = next;
    }
  };
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

function withoutCredentials(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => !CREDENTIAL_HEADERS.has(k.toLowerCase())));
}

/** Drop a body we will not read. An error listener first: undici emits AbortError on destroy. */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** Read a whole body, refusing (and dropping the connection) beyond `max` bytes. */
export async function readBounded(body: Dispatcher.ResponseData['body'], max: number, what: string, onTooLarge: (what: string, max: number) => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      n += c.byteLength;
      if (n > max) throw onTooLarge(what, max);
      chunks.push(c);
    }
  } catch (e) {
    discardBody(body);
    throw e;
  }
  return Buffer.concat(chunks, n);
}

export function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/** No query string (presigned signatures) and no user info, for messages and logs. */
export function redactedUrl(u: URL): string {
  const url = new URL(u.href);
  const hadQuery = url.search !== '';
  url.search = '';
  url.username = '';
  url.password = '';
  return url.toString() + (hadQuery ? '?…' : '');
}

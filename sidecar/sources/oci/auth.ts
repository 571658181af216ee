// Registry authentication as clients expect it (Docker, containerd, ORAS): a request without
// credentials first; on 401 the WWW-Authenticate challenge says what to do:
//   Bearer realm=…,service=…,scope=…  → a token from the realm (anonymously, or with the basic
//                                        credentials), then the request again with it;
//   Basic                                → the basic credentials, then the request again.
// Credentials come from the mounted Secret: keys `username` + `password`, or `.dockerconfigjson`
// (a Docker config.json, the type kubernetes.io/dockerconfigjson). They are attached only to
// requests for the registry's own origin and to the token realm it names, never to a redirect
// target elsewhere (blob storage), and never over plain HTTP to a host that is not allowed to
// speak it (loopback or MODELPIN_OCI_INSECURE_REGISTRIES).
import { ModelpinError } from '../../../src/errors.js';
import { readSecretKey } from '../credentials.js';
import { discardBody, headerValue, readBounded, redactedUrl, type Send } from '../dispatch.js';
import { allowsPlainHttp, hostOf } from './reference.js';

export type Credentials = { readonly kind: 'basic'; readonly username: string; readonly password: string } | { readonly kind: 'bearer'; readonly token: string };

export interface Challenge {
  /** Lower case: "bearer", "basic", … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const MAX_HEADER = 8 * 1024;
const MAX_PARAMS = 32;
const TOKEN_MAX_BYTES = 64 * 1024;
const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * RFC 7235 challenges: `scheme [auth-param *("," auth-param)]`, several challenges comma-separated,
 * values a token or a quoted string. Lenient and total: anything it cannot read ends the parse and
 * what was read so far is returned (a registry's garbage must not crash a pod, only fail auth).
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const s = header.length > MAX_HEADER ? header.slice(0, MAX_HEADER) : header;
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skipWs = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: { scheme: string; params: Record<string, string> } | undefined;
  let count = 0;
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const name = token();
    if (name === '') break;
    skipWs();
    if (s[i] === '=' && current !== undefined) {
      // an auth-param of the current challenge (a token68's trailing '=' padding is not supported)
      i++;
      skipWs();
      let value: string;
      if (s[i] === '"') {
        i++;
        let v = '';
        let closed = false;
        while (i < s.length) {
          const c = s[i]!;
          if (c === '\\' && i + 1 < s.length) {
            v += s[i + 1];
            i += 2;
          } else if (c === '"') {
            i++;
            closed = true;
            break;
          } else {
            v += c;
            i++;
          }
        }
        if (!closed) break;
        value = v;
      } else {
        value = token();
      }
      if (++count > MAX_PARAMS) break;
      const key = name.toLowerCase();
      if (!(key in current.params)) current.params[key] = value;
      continue;
    }
    if (i === start) break;
    current = { scheme: name.toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(current);
  }
  return out.map((c) => Object.freeze({ scheme: c.scheme, params: Object.freeze({ ...c.params }) }));
}

/** Basic credentials or a registry token for `registry` from the credentials directory, if any. */
export function readRegistryCredentials(dir: string | undefined, registry: string): Credentials | undefined {
  const username = readSecretKey(dir, 'username');
  const password = readSecretKey(dir, 'password');
  if (username !== undefined && username !== '' && password !== undefined) return { kind: 'basic', username, password };
  const config = readSecretKey(dir, '.dockerconfigjson');
  if (config !== undefined) return fromDockerConfig(config, registry, `${dir}/.dockerconfigjson`);
  return undefined;
}

/** Docker config.json keys are written many ways: https://ghcr.io, ghcr.io/v2/, index.docker.io/v1/. */
function configKey(k: string): string {
  return k.trim().toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

const HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function fromDockerConfig(text: string, registry: string, where: string): Credentials | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${where} is not JSON`, { hint: 'the Secret must be of type kubernetes.io/dockerconfigjson (`kubectl create secret docker-registry`)' });
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (auths === null || typeof auths !== 'object') return undefined;
  const want = HUB_KEYS.has(registry) ? HUB_KEYS : new Set([registry]);
  const hit = Object.entries(auths as Record<string, unknown>).find(([k]) => want.has(configKey(k)));
  if (!hit) return undefined;
  const e = (hit[1] ?? {}) as { auth?: unknown; username?: unknown; password?: unknown; identitytoken?: unknown; registrytoken?: unknown };
  if (typeof e.registrytoken === 'string' && e.registrytoken !== '') return { kind: 'bearer', token: e.registrytoken };
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `the "auth" entry for ${registry} in ${where} is not base64 of user:password`, { hint: 'recreate the Secret with `kubectl create secret docker-registry`' });
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof e.username === 'string' && e.username !== '' && typeof e.password === 'string') return { kind: 'basic', username: e.username, password: e.password };
  if (typeof e.identitytoken === 'string') {
    throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `the entry for ${registry} in ${where} holds an identity token (OAuth2 refresh token), which modelpin does not exchange`, {
      hint: 'use a username and password (or a robot account / access token as the password) in the Secret',
    });
  }
  return undefined;
}

function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

export interface RegistryAuthOptions {
  /** http(s)://host[:port] of the registry API: the only origin that gets its credentials. */
  origin: string;
  credentials?: Credentials;
  env: NodeJS.ProcessEnv;
  /** oci://registry/repository, for messages. */
  describe: string;
}

/**
 * Wrap `inner` so requests to the registry carry what its challenge asked for. One Authorization
 * value is shared by all requests (parallel ranged reads reuse the token); a 401 with it in place
 * gets one fresh attempt (an expired token), a second 401 is final.
 */
export function registryAuth(inner: Send, opts: RegistryAuthOptions): Send {
  let authorization: string | undefined = opts.credentials?.kind === 'bearer' ? `Bearer ${opts.credentials.token}` : undefined;
  let pending: Promise<string> | undefined;

  async function answer(challengeHeader: string | undefined, signal: AbortSignal | undefined): Promise<string> {
    const challenges = parseWwwAuthenticate(challengeHeader ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const creds = opts.credentials;
    if (bearer) {
      if (creds?.kind === 'bearer') {
        throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${opts.describe}: the registry refused the registry token from the credentials`, {
          hint: 'refresh the registrytoken in the .dockerconfigjson Secret, or use username/password',
        });
      }
      return `Bearer ${await fetchToken(bearer, signal)}`;
    }
    if (basic) {
      if (creds?.kind !== 'basic') {
        throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${opts.describe}: the registry asks for a username and password and none are configured`, {
          hint: 'reference a Secret with keys username and password, or a .dockerconfigjson (spec.model.credentials.secretName; --credentials-dir on the CLI)',
        });
      }
      if (!new URL(opts.origin).protocol.startsWith('https') && !allowsPlainHttp(new URL(opts.origin).host, opts.env)) {
        throw plainHttpRefused(opts.origin, opts.env);
      }
      return basicHeader(creds);
    }
    throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${opts.describe}: the registry answered 401 without a usable challenge (WWW-Authenticate: ${JSON.stringify((challengeHeader ?? '').slice(0, 120))})`, {
      hint: 'the registry must answer with a Bearer or Basic challenge; check that the URI names a registry',
    });
  }

  async function fetchToken(ch: { params: Readonly<Record<string, string>> }, signal: AbortSignal | undefined): Promise<string> {
    const realmText = ch.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? '');
    } catch {
      throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${opts.describe}: the registry's Bearer challenge has no valid realm (${JSON.stringify((realmText ?? '').slice(0, 120))})`);
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && allowsPlainHttp(realm.host, opts.env))) {
      throw plainHttpRefused(realm.origin, opts.env);
    }
    if (ch.params.service !== undefined) realm.searchParams.set('service', ch.params.service);
    for (const scope of (ch.params.scope ?? '').split(' ').filter((x) => x !== '')) realm.searchParams.append('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'modelpin' };
    const creds = opts.credentials;
    // The registry named this realm as its token service: Docker sends the basic credentials there too.
    if (creds?.kind === 'basic') headers.authorization = basicHeader(creds);
    const res = await inner({ url: realm, method: 'GET', headers, ...(signal ? { signal } : {}) });
    if (res.status === 401 || res.status === 403) {
      discardBody(res.body);
      throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${opts.describe}: the token service ${redactedUrl(realm)} refused ${creds ? 'the credentials' : 'an anonymous token'} (HTTP ${res.status})`, {
        hint: creds ? 'check username/password (or .dockerconfigjson) in the credentials Secret' : 'the repository is private: reference a Secret with username/password or a .dockerconfigjson',
      });
    }
    if (res.status !== 200) {
      discardBody(res.body);
      throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${opts.describe}: the token service ${redactedUrl(realm)} answered HTTP ${res.status}`, { hint: 'check the registry and its token service' });
    }
    const body = await readBounded(res.body, TOKEN_MAX_BYTES, `the token from ${redactedUrl(realm)}`, (what, max) => new ModelpinError('MODELPIN_E_FETCH_DENIED', `${what} is larger than ${max} bytes`));
    let token: unknown;
    try {
      const j = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = typeof j.token === 'string' && j.token !== '' ? j.token : j.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) {
      throw new ModelpinError('MODELPIN_E_FETCH_DENIED', `${opts.describe}: the token service ${redactedUrl(realm)} returned no token`, { hint: 'check the registry and its token service' });
    }
    return token;
  }

  const origin = new URL(opts.origin).origin;
  return async (req) => {
    if (req.url.origin !== origin) return inner(req);
    for (let attempt = 0; ; attempt++) {
      if (pending) authorization = await pending.catch(() => authorization);
      const sent = authorization;
      const headers = sent === undefined ? req.headers : { ...req.headers, authorization: sent };
      const res = await inner({ ...req, headers });
      if (res.status !== 401 || attempt >= 1) return res;
      const challenge = headerValue(res.headers['www-authenticate']);
      discardBody(res.body);
      // Another request may have refreshed the token while this one was in flight: use that first.
      if (authorization !== sent) continue;
      pending ??= answer(challenge, req.signal).finally(() => (pending = undefined));
      authorization = await pending;
    }
  };
}

function plainHttpRefused(origin: string, env: NodeJS.ProcessEnv): ModelpinError {
  const host = new URL(origin).host;
  void env;
  return new ModelpinError('MODELPIN_E_OCI_INSECURE', `refusing to send registry credentials to ${origin} over plain HTTP`, {
    hint: `serve the registry over https, or, if ${hostOf(host)} is a trusted local registry, add ${host} to MODELPIN_OCI_INSECURE_REGISTRIES`,
  });
}

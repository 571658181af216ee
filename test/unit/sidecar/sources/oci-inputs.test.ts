// Table tests and a bounded, seeded fuzz over everything a registry or a user hands the OCI
// source: oci:// URIs, manifests (malformed JSON, huge, wrong media types, indexes, ambiguous
// layers), WWW-Authenticate challenges, Docker config.json. Every input either parses or fails
// with a coded ModelpinError; nothing throws anything else.
import { describe, expect, it } from 'vitest';
import { formatArtifactUri, isImmutableRef, parseArtifactUri } from '../../../../src/artifact-uri.js';
import { ModelpinError } from '../../../../src/errors.js';
import { fromDockerConfig, parseWwwAuthenticate } from '../../../../sidecar/sources/oci/auth.js';
import { MANIFEST_MAX_BYTES, parseManifest, selectLayer, type Manifest } from '../../../../sidecar/sources/oci/manifest.js';
import { allowsPlainHttp, registryEndpoint } from '../../../../sidecar/sources/oci/reference.js';

const H = (c: string) => `sha256:${c.repeat(64)}`;
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModelpinError) return e.code;
    throw e;
  }
  return 'ok';
};

/** mulberry32: a tiny seeded PRNG, so a failure reproduces from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('oci:// URIs', () => {
  it.each([
    [`oci://ghcr.io/acme/fraud@${H('a')}`, { registry: 'ghcr.io', repository: 'acme/fraud', digest: H('a') }],
    ['oci://127.0.0.1:5000/models/fraud:v1', { registry: '127.0.0.1:5000', repository: 'models/fraud', tag: 'v1' }],
    ['oci://LocalHost:5000/a/b/c_d__e-f.g:V1.2-rc_3', { registry: 'localhost:5000', repository: 'a/b/c_d__e-f.g', tag: 'V1.2-rc_3' }],
    [`oci://[::1]:5000/m@${H('b')}?title=model.onnx`, { registry: '[::1]:5000', repository: 'm', digest: H('b'), title: 'model.onnx' }],
    [`oci://r.io/m@${H('c')}?mediaType=application/vnd.oci.image.layer.v1.tar+gzip`, { registry: 'r.io', repository: 'm', digest: H('c'), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
  ])('parses %s', (uri, expected) => {
    expect(parseArtifactUri(uri)).toEqual({ scheme: 'oci', ...expected });
    expect(parseArtifactUri(formatArtifactUri(parseArtifactUri(uri)))).toEqual(parseArtifactUri(uri));
  });

  it('is immutable only when pinned by digest', () => {
    expect(isImmutableRef(parseArtifactUri(`oci://r.io/m@${H('a')}`))).toBe(true);
    expect(isImmutableRef(parseArtifactUri('oci://r.io/m:latest'))).toBe(false);
  });

  it.each([
    ['oci://r.io/m', 'MODELPIN_E_SPEC_URI'], // neither tag nor digest
    ['oci://r.io', 'MODELPIN_E_SPEC_URI'],
    ['oci://r.io/', 'MODELPIN_E_SPEC_URI'],
    ['oci:r.io/m:v1', 'MODELPIN_E_SPEC_URI'],
    [`oci://r.io/M@${H('a')}`, 'MODELPIN_E_SPEC_URI'], // upper-case repository
    [`oci://r.io/m:v1@${H('a')}`, 'MODELPIN_E_SPEC_URI'], // both
    ['oci://r.io/m@sha256:abc', 'MODELPIN_E_SPEC_URI'],
    [`oci://r.io/m@sha512:${'a'.repeat(128)}`, 'MODELPIN_E_SPEC_URI'],
    ['oci://r.io/m:-bad', 'MODELPIN_E_SPEC_URI'],
    ['oci://r.io:99999/m:v1', 'MODELPIN_E_SPEC_URI'],
    ['oci://r_io/m:v1', 'MODELPIN_E_SPEC_URI'],
    [`oci://r.io/m@${H('a')}?layer=x`, 'MODELPIN_E_SPEC_URI'],
    [`oci://r.io/m@${H('a')}?title=a&title=b`, 'MODELPIN_E_SPEC_URI'],
    [`oci://r.io/m@${H('a')}?title=`, 'MODELPIN_E_SPEC_URI'],
    [`oci://r.io/m@${H('a')}#x`, 'MODELPIN_E_SPEC_URI'],
    [`oci://r.io/a//b@${H('a')}`, 'MODELPIN_E_SPEC_URI'],
    [`oci://user:pw@r.io/m@${H('a')}`, 'MODELPIN_E_SPEC_INLINE_CREDENTIAL'],
  ])('refuses %s with %s', (uri, c) => {
    expect(code(() => parseArtifactUri(uri))).toBe(c);
  });

  it('fuzz: mutated URIs parse to a round-tripping ref or fail with a coded error (seeded, 5000 cases)', () => {
    const r = rng(14);
    const seeds = [`oci://ghcr.io/acme/fraud@${H('a')}?title=model.onnx`, 'oci://127.0.0.1:5000/m/x:v1', `oci://[::1]:80/a_b@${H('f')}`];
    const alphabet = 'aZ09:/@?=&#%._-+ [];\\\u00e9\u0000';
    for (let i = 0; i < 5000; i++) {
      let s = seeds[i % seeds.length]!;
      for (let k = 0, m = 1 + Math.floor(r() * 4); k < m; k++) {
        const at = Math.floor(r() * (s.length + 1));
        const op = r();
        if (op < 0.4) s = s.slice(0, at) + alphabet[Math.floor(r() * alphabet.length)] + s.slice(at);
        else if (op < 0.8) s = s.slice(0, at) + s.slice(at + 1);
        else s = s.slice(0, at) + s.slice(at, at + 8).repeat(2) + s.slice(at + 8);
      }
      let ref;
      try {
        ref = parseArtifactUri(s);
      } catch (e) {
        expect(e, s).toBeInstanceOf(ModelpinError);
        continue;
      }
      if (ref.scheme === 'oci') expect(parseArtifactUri(formatArtifactUri(ref)), s).toEqual(ref);
    }
  });
});

describe('plain HTTP only for loopback and listed registries', () => {
  it.each([
    ['localhost:5000', {}, true],
    ['127.0.0.1:5000', {}, true],
    ['127.8.9.10', {}, true],
    ['[::1]:5000', {}, true],
    ['registry.local:5000', {}, false],
    ['registry.local:5000', { MODELPIN_OCI_INSECURE_REGISTRIES: 'other:1, registry.local:5000' }, true],
    ['registry.local:5000', { MODELPIN_OCI_INSECURE_REGISTRIES: 'registry.local' }, true],
    ['10.0.0.1:5000', {}, false],
    ['127.0.0.1.evil.io', {}, false],
  ])('%s with %j → %s', (host, env, plain) => {
    expect(allowsPlainHttp(host, env)).toBe(plain);
    expect(registryEndpoint(host, env).origin.startsWith(plain ? 'http://' : 'https://')).toBe(true);
  });
  it('maps docker.io to its API host', () => {
    expect(registryEndpoint('docker.io', {}).origin).toBe('https://registry-1.docker.io');
  });
});

const layer = (d: string, title?: string, mediaType = 'application/vnd.oci.image.layer.v1.tar') => ({
  mediaType,
  digest: H(d),
  size: 10,
  ...(title === undefined ? {} : { annotations: { 'org.opencontainers.image.title': title } }),
});
const image = (layers: unknown[], extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: H('e'), size: 2 }, layers, ...extra }));

describe('manifests', () => {
  const OCI = 'application/vnd.oci.image.manifest.v1+json';
  it.each([
    ['not JSON', Buffer.from('{"schemaVersion":'), OCI],
    ['an array', Buffer.from('[]'), OCI],
    ['too large', Buffer.alloc(MANIFEST_MAX_BYTES + 1, 32), OCI],
    ['an index', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] })), undefined],
    ['a Docker list', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), 'application/vnd.docker.distribution.manifest.list.v2+json'],
    ['an unknown type', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/json', layers: [layer('a')] })), 'application/json'],
    ['no type at all', Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [layer('a')] })), 'text/plain'],
    ['a type the header contradicts', image([layer('a')]), 'application/vnd.docker.distribution.manifest.v2+json'],
    ['schemaVersion 1', image([layer('a')], { schemaVersion: 1 }), OCI],
    ['no layers', image([]), OCI],
    ['layers not an array', image([], { layers: {} }), OCI],
    ['a sha512 layer', image([{ ...layer('a'), digest: `sha512:${'a'.repeat(128)}` }]), OCI],
    ['a negative size', image([{ ...layer('a'), size: -1 }]), OCI],
    ['a fractional size', image([{ ...layer('a'), size: 1.5 }]), OCI],
    ['a layer without mediaType', image([{ digest: H('a'), size: 1 }]), OCI],
    ['a non-string annotation', image([{ ...layer('a'), annotations: { x: 1 } }]), OCI],
  ])('refuses %s with MODELPIN_E_OCI_MANIFEST', (_name, bytes, ct) => {
    expect(code(() => parseManifest(bytes, ct, 'oci://r/m'))).toBe('MODELPIN_E_OCI_MANIFEST');
  });

  it('reads OCI image manifests, ORAS 1.0 artifact manifests and Docker v2 manifests', () => {
    expect(parseManifest(image([layer('a', 'model.onnx')]), `${OCI}; charset=utf-8`, 'x').layers[0]?.digest).toBe(H('a'));
    const artifact = Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.artifact.manifest.v1+json', artifactType: 't', blobs: [layer('b')] }));
    expect(parseManifest(artifact, undefined, 'x')).toMatchObject({ artifactType: 't', layers: [{ digest: H('b') }] });
    const docker = Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [layer('c')] }));
    expect(parseManifest(docker, 'application/vnd.docker.distribution.manifest.v2+json', 'x').layers[0]?.digest).toBe(H('c'));
  });

  const m = (layers: ReturnType<typeof layer>[]): Manifest => parseManifest(image(layers), OCI, 'x');
  it.each([
    ['the only layer', [layer('a')], {}, 'a'],
    ['model.onnx among others', [layer('a', 'README.md'), layer('b', 'model.onnx'), layer('c', 'x.onnx')], {}, 'b'],
    ['the only *.onnx', [layer('a', 'README.md'), layer('b', 'fraud.ONNX')], {}, 'b'],
    ['the only tar', [layer('a', 'README.md'), layer('b', 'model.tar.gz')], {}, 'b'],
    ['by title', [layer('a', 'x.onnx'), layer('b', 'y.onnx')], { title: 'y.onnx' }, 'b'],
    ['by media type', [layer('a', 'x', 'text/plain'), layer('b', 'y', 'application/onnx')], { mediaType: 'application/onnx' }, 'b'],
    ['by both', [layer('a', 'x', 't'), layer('b', 'x', 'u')], { title: 'x', mediaType: 'u' }, 'b'],
  ] as const)('selects %s', (_n, layers, sel, want) => {
    expect(selectLayer(m([...layers]), sel, 'x').digest).toBe(H(want));
  });
  it.each([
    ['two *.onnx', [layer('a', 'x.onnx'), layer('b', 'y.onnx')], {}],
    ['two model.onnx', [layer('a', 'model.onnx'), layer('b', 'model.onnx')], {}],
    ['nothing model-like', [layer('a', 'README.md'), layer('b')], {}],
    ['a title nobody has', [layer('a', 'x.onnx')], { title: 'y.onnx' }],
    ['a title two have', [layer('a', 'x', 't'), layer('b', 'x', 'u')], { title: 'x' }],
  ] as const)('refuses %s with MODELPIN_E_OCI_LAYER', (_n, layers, sel) => {
    expect(code(() => selectLayer(m([...layers]), sel, 'x'))).toBe('MODELPIN_E_OCI_LAYER');
  });

  it('fuzz: mutated manifests parse or fail with a coded error (seeded, 3000 cases)', () => {
    const r = rng(4);
    const base = image([layer('a', 'model.onnx'), layer('b', 'README.md')]).toString();
    for (let i = 0; i < 3000; i++) {
      let s = base;
      for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++) {
        const at = Math.floor(r() * s.length);
        s = r() < 0.5 ? s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5)) : s.slice(0, at) + '{}[]",:0-9aZ'[Math.floor(r() * 12)] + s.slice(at);
      }
      try {
        selectLayer(parseManifest(Buffer.from(s), r() < 0.5 ? OCI : undefined, 'x'), {}, 'x');
      } catch (e) {
        expect(e, s).toBeInstanceOf(ModelpinError);
      }
    }
  });
});

describe('WWW-Authenticate', () => {
  it.each([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"', [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull' } }]],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['basic realm=x, Bearer realm="r", service=s', [{ scheme: 'basic', params: { realm: 'x' } }, { scheme: 'bearer', params: { realm: 'r', service: 's' } }]],
    ['Bearer realm="a\\"b", REALM="ignored"', [{ scheme: 'bearer', params: { realm: 'a"b' } }]],
    ['Bearer  realm = "r" ,, scope="repository:a:pull,push"', [{ scheme: 'bearer', params: { realm: 'r', scope: 'repository:a:pull,push' } }]],
    ['', []],
    ['Bearer realm="unterminated', [{ scheme: 'bearer', params: {} }]],
    ['=garbage', []],
  ])('%j', (h, want) => {
    expect(parseWwwAuthenticate(h)).toEqual(want);
  });

  it('fuzz: never throws, stays bounded (seeded, 5000 cases)', () => {
    const r = rng(7);
    const alphabet = 'Bearer Basic realm= service scope"\\,=\t:/ab';
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(r() * 200);
      let s = '';
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(r() * alphabet.length)];
      const out = parseWwwAuthenticate(s);
      expect(out.length).toBeLessThanOrEqual(s.length);
    }
    expect(parseWwwAuthenticate(`Bearer ${'a=b,'.repeat(100_000)}`)[0]!.params).toBeDefined();
  });
});

describe('Docker config.json credentials', () => {
  const cfg = (auths: Record<string, unknown>) => JSON.stringify({ auths });
  it.each([
    [cfg({ 'https://ghcr.io': { auth: Buffer.from('u:p:q').toString('base64') } }), 'ghcr.io', { kind: 'basic', username: 'u', password: 'p:q' }],
    [cfg({ 'ghcr.io/v2/': { username: 'u', password: 'p' } }), 'ghcr.io', { kind: 'basic', username: 'u', password: 'p' }],
    [cfg({ 'https://index.docker.io/v1/': { auth: Buffer.from('d:h').toString('base64') } }), 'docker.io', { kind: 'basic', username: 'd', password: 'h' }],
    [cfg({ 'r.io:5000': { registrytoken: 't' } }), 'r.io:5000', { kind: 'bearer', token: 't' }],
    [cfg({ 'other.io': { auth: 'eDp5' } }), 'ghcr.io', undefined],
  ])('%s for %s', (text, registry, want) => {
    expect(fromDockerConfig(text, registry, 'cfg')).toEqual(want);
  });
  it.each([['not json'], [cfg({ 'r.io': { auth: Buffer.from('nocolon').toString('base64') } })], [cfg({ 'r.io': { identitytoken: 'x' } })]])('refuses %s', (text) => {
    expect(code(() => fromDockerConfig(text, 'r.io', 'cfg'))).toBe('MODELPIN_E_FETCH_DENIED');
  });
});

// oci:// against a real registry (go-containerregistry's, `crane registry serve`) with the real
// ORAS CLI as the peer: an artifact `oras push`ed is locked, fetched, verified and served; one
// `modelpin publish`ed is `oras pull`ed byte for byte (monolithic and chunked uploads). A tag moved
// after lock leaves the pin alone. Through an auth-enforcing front: Basic credentials (username /
// password keys and a .dockerconfigjson), the Bearer token flow (anonymous pull, push with
// credentials), a redirect of blobs to another host (no credentials follow it, ranged reads go
// through it), and a tampered layer (never ready).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/pin-cli.js';
import { oras, startAuthProxy, startCrane, type AuthProxy, type Registry } from './support/registry.js';
import { spawnServe } from './support/serve-process.js';

const ROOT = join(import.meta.dirname, '../..');
const MODEL = readFileSync(join(ROOT, 'plugin/examples/fraud-detector/model.onnx'));
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const USER = 'ci-robot';
const PASS = 'pa55-w0rd:with-colon';

let reg: Registry;
let work: string;
const fronts: AuthProxy[] = [];
let n = 0;
const dir = (name = `d${n++}`) => {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
};

function spec(uri: string, extra = ''): string {
  return `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector
spec:
  model:
    # pinned by lock
    uri: ${uri}
${extra}  serving:
    image: ghcr.io/modelpin/modelpin-sidecar:0.1.0
`;
}

/** `oras push` a file (its name becomes the title annotation); returns the manifest digest. */
function orasPush(target: string, file: string, bytes: Uint8Array, extraArgs: string[] = []): string {
  const d = dir();
  writeFileSync(join(d, file), bytes);
  oras(['push', '--plain-http', ...extraArgs, '--export-manifest', 'manifest.json', target, file], { cwd: d });
  return sha(readFileSync(join(d, 'manifest.json')));
}

function credsDir(files: Record<string, string>): string {
  const d = dir();
  for (const [k, v] of Object.entries(files)) writeFileSync(join(d, k), v);
  return d;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'modelpin-oci-'));
  reg = await startCrane();
});
afterAll(async () => {
  for (const f of fronts) await f.stop();
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('oras push → modelpin lock, fetch, serve', () => {
  it('locks the tag to the manifest digest, fetches and serves the verified layer', async () => {
    const manifest = orasPush(`${reg.host}/models/fraud:v1`, 'model.onnx', MODEL);
    const d = dir();
    writeFileSync(join(d, 'modelpin.yaml'), spec(`oci://${reg.host}/models/fraud:v1`));
    const lock = await runCli(['lock', d, '-o', 'json']);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    const pinnedUri = `oci://${reg.host}/models/fraud@${manifest}`;
    expect(JSON.parse(lock.stdout)).toMatchObject({ uri: pinnedUri, digest: sha(MODEL), size: MODEL.length, digestSource: 'oci-manifest' });
    const text = readFileSync(join(d, 'modelpin.yaml'), 'utf8');
    expect(text).toContain(`    # pinned by lock\n    uri: ${pinnedUri}\n    digest: ${sha(MODEL)}\n    size: ${MODEL.length}\n`);
    expect(text).toContain(`modelpin.dev/track: oci://${reg.host}/models/fraud:v1`);
    // A second lock changes nothing.
    expect((await runCli(['lock', d])).stdout).toContain('is up to date');

    const f = await runCli(['fetch', '--uri', pinnedUri, '--digest', sha(MODEL), '--cache-dir', dir()]);
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(f.stdout.trim())).toEqual(MODEL);

    const p = spawnServe(['serve', '--uri', pinnedUri, '--digest', sha(MODEL), '--name', 'fraud-detector', '--port', '0', '--host', '127.0.0.1', '--cache-dir', dir()]);
    try {
      const port = await p.port;
      await p.ready;
      expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
      const res = await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: Array.from({ length: 64 }, (_, i) => i / 64) }] }),
      });
      expect(res.status).toBe(200);
      const out = (await res.json()) as { outputs: { name: string; shape: number[] }[] };
      expect(out.outputs[0]).toMatchObject({ name: 'logits', shape: [1, 10] });
    } finally {
      p.child.kill('SIGINT');
      await p.exit;
    }
  });

  it('keeps the pin when the tag moves after lock; lock --check reports it stale', async () => {
    const first = orasPush(`${reg.host}/models/moving:prod`, 'model.onnx', MODEL);
    const d = dir();
    writeFileSync(join(d, 'modelpin.yaml'), spec(`oci://${reg.host}/models/moving:prod`));
    expect((await runCli(['lock', d])).code).toBe(0);
    const other = randomBytes(4096);
    const second = orasPush(`${reg.host}/models/moving:prod`, 'model.onnx', other);
    expect(second).not.toBe(first);
    const pinned = readFileSync(join(d, 'modelpin.yaml'), 'utf8');
    expect(pinned).toContain(`@${first}`);
    const f = await runCli(['fetch', '--uri', `oci://${reg.host}/models/moving@${first}`, '--digest', sha(MODEL), '--cache-dir', dir()]);
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(f.stdout.trim())).toEqual(MODEL);
    const check = await runCli(['lock', d, '--check']);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('MODELPIN_E_LOCK_STALE');
    expect(check.stderr).toContain(`@${second}`);
    expect(readFileSync(join(d, 'modelpin.yaml'), 'utf8')).toBe(pinned);
  });

  it('chooses the layer by title among several and refuses an ambiguous manifest', async () => {
    const d = dir();
    writeFileSync(join(d, 'model.onnx'), MODEL);
    writeFileSync(join(d, 'README.md'), 'notes');
    writeFileSync(join(d, 'labels.txt'), 'a\nb\n');
    oras(['push', '--plain-http', '--export-manifest', 'm.json', `${reg.host}/models/multi:v1`, 'README.md', 'model.onnx', 'labels.txt'], { cwd: d });
    const manifest = sha(readFileSync(join(d, 'm.json')));
    const f = await runCli(['fetch', '--uri', `oci://${reg.host}/models/multi@${manifest}`, '--digest', sha(MODEL), '--cache-dir', dir()]);
    expect(f.code, f.stderr).toBe(0);
    const byTitle = await runCli(['fetch', '--uri', `oci://${reg.host}/models/multi@${manifest}?title=labels.txt`, '--digest', sha(Buffer.from('a\nb\n')), '--cache-dir', dir()]);
    expect(byTitle.code, byTitle.stderr).toBe(0);
    oras(['push', '--plain-http', '--export-manifest', 'm2.json', `${reg.host}/models/multi:v2`, 'README.md', 'labels.txt'], { cwd: d });
    const amb = await runCli(['fetch', '--uri', `oci://${reg.host}/models/multi@${sha(readFileSync(join(d, 'm2.json')))}`, '--digest', sha(MODEL), '--cache-dir', dir()]);
    expect(amb.code).toBe(1);
    expect(amb.stderr).toMatch(/MODELPIN_E_OCI_LAYER: .*2 layers and none is unambiguously the model.*"README.md".*"labels.txt"/s);
  });
});

describe('modelpin publish → oras pull', () => {
  it.each([
    ['monolithic', MODEL, []],
    ['chunked', randomBytes(3 * 1024 * 1024 + 17), ['--multipart-threshold', String(1024 * 1024)]],
  ] as const)('%s: the pulled file is byte for byte the published one; --pin writes the spec', async (_kind, bytes, flags) => {
    const d = dir();
    writeFileSync(join(d, 'model.onnx'), bytes);
    writeFileSync(join(d, 'modelpin.yaml'), spec('file:///placeholder.onnx'));
    const tag = `oci://${reg.host}/published/${_kind}:v1`;
    const r = await runCli(['publish', join(d, 'model.onnx'), tag, '--pin', d, '-o', 'json', ...flags]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { uri: string; manifestDigest: string; digest: string; size: number; multipart: boolean };
    expect(out).toMatchObject({ digest: sha(bytes), size: bytes.length, multipart: _kind === 'chunked' });
    expect(out.uri).toBe(`oci://${reg.host}/published/${_kind}@${out.manifestDigest}`);
    const pull = dir();
    oras(['pull', '--plain-http', `${reg.host}/published/${_kind}:v1`], { cwd: pull });
    expect(readFileSync(join(pull, 'model.onnx')).equals(bytes)).toBe(true);
    // The manifest oras resolves for the tag is the one publish printed (and pinned).
    const fetched = oras(['manifest', 'fetch', '--plain-http', `${reg.host}/published/${_kind}:v1`]);
    expect(sha(Buffer.from(fetched))).toBe(out.manifestDigest);
    expect(JSON.parse(fetched)).toMatchObject({ artifactType: 'application/vnd.modelpin.model.v1', layers: [{ annotations: { 'org.opencontainers.image.title': 'model.onnx' } }] });
    const pinned = readFileSync(join(d, 'modelpin.yaml'), 'utf8');
    expect(pinned).toContain(`uri: ${out.uri}`);
    expect(pinned).toContain(`digest: ${sha(bytes)}`);
    expect(pinned).toContain(`modelpin.dev/track: ${tag}`);
    // Publishing the same file again gives the same manifest: no timestamp in it.
    const again = JSON.parse((await runCli(['publish', join(d, 'model.onnx'), tag, '-o', 'json', ...flags])).stdout) as { manifestDigest: string };
    expect(again.manifestDigest).toBe(out.manifestDigest);
  });
});

describe('registry auth, redirects and tampering', () => {
  it('Basic auth: username/password keys or a .dockerconfigjson; none or wrong ones are denied', async () => {
    const front = await startAuthProxy(reg, { mode: 'basic', username: USER, password: PASS });
    fronts.push(front);
    const manifest = orasPush(`${reg.host}/private/fraud:v1`, 'model.onnx', MODEL);
    const uri = `oci://${front.host}/private/fraud@${manifest}`;
    const fetchWith = (creds?: string) => runCli(['fetch', '--uri', uri, '--digest', sha(MODEL), '--cache-dir', dir(), ...(creds ? ['--credentials-dir', creds] : [])]);

    const ok = await fetchWith(credsDir({ username: USER, password: `${PASS}\n` }));
    expect(ok.code, ok.stderr).toBe(0);
    const docker = credsDir({ '.dockerconfigjson': JSON.stringify({ auths: { [`http://${front.host}`]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }) });
    const ok2 = await fetchWith(docker);
    expect(ok2.code, ok2.stderr).toBe(0);
    const none = await fetchWith();
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/MODELPIN_E_FETCH_DENIED: .*asks for a username and password/);
    const wrong = await fetchWith(credsDir({ username: USER, password: 'nope' }));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/MODELPIN_E_FETCH_DENIED: .*HTTP 401.*UNAUTHORIZED/);
    expect(wrong.stderr).not.toContain('nope');
    // publish through the same front with the credentials
    const d = dir();
    writeFileSync(join(d, 'model.onnx'), MODEL);
    const pub = await runCli(['publish', join(d, 'model.onnx'), `oci://${front.host}/private/pushed:v1`, '--credentials-dir', docker]);
    expect(pub.code, pub.stderr).toBe(0);
  });

  it('token auth: anonymous pull tokens, push only with credentials (sent to the realm only)', async () => {
    const front = await startAuthProxy(reg, { mode: 'token', username: USER, password: PASS, anonymousPull: true });
    fronts.push(front);
    const manifest = orasPush(`${reg.host}/public/fraud:v1`, 'model.onnx', MODEL);
    const d = dir();
    writeFileSync(join(d, 'modelpin.yaml'), spec(`oci://${front.host}/public/fraud:v1`));
    const lock = await runCli(['lock', d]);
    expect(lock.code, lock.stderr).toBe(0);
    expect(readFileSync(join(d, 'modelpin.yaml'), 'utf8')).toContain(`@${manifest}`);
    const f = await runCli(['fetch', '--uri', `oci://${front.host}/public/fraud@${manifest}`, '--digest', sha(MODEL), '--cache-dir', dir()]);
    expect(f.code, f.stderr).toBe(0);
    expect(front.seen.token.length).toBeGreaterThan(0);
    expect(front.seen.token.every((t) => t.authorization === undefined)).toBe(true); // anonymous
    expect(front.seen.registry.some((r) => r.authorization?.startsWith('Bearer tok-'))).toBe(true);

    writeFileSync(join(d, 'model.onnx'), MODEL);
    const anon = await runCli(['publish', join(d, 'model.onnx'), `oci://${front.host}/public/pushed:v1`]);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/MODELPIN_E_FETCH_DENIED/);
    front.seen.token.length = 0;
    const pub = await runCli(['publish', join(d, 'model.onnx'), `oci://${front.host}/public/pushed:v1`, '--credentials-dir', credsDir({ username: USER, password: PASS })]);
    expect(pub.code, pub.stderr).toBe(0);
    expect(front.seen.token.some((t) => t.authorization === `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`)).toBe(true);
    expect(front.seen.registry.filter((r) => r.authorization?.startsWith('Basic')).length).toBe(0); // the registry only ever sees tokens
  });

  it('follows a blob redirect to another host without the credentials, with parallel ranged reads through it', async () => {
    const front = await startAuthProxy(reg, { mode: 'basic', username: USER, password: PASS, redirectBlobs: true });
    fronts.push(front);
    const big = randomBytes(6 * 1024 * 1024 + 5);
    const manifest = orasPush(`${reg.host}/redirected/big:v1`, 'model.bin', big);
    const creds = credsDir({ username: USER, password: PASS });
    const f = await runCli(['fetch', '--uri', `oci://${front.host}/redirected/big@${manifest}`, '--digest', sha(big), '--cache-dir', dir(), '--credentials-dir', creds], {
      env: { ...process.env, MODELPIN_FETCH_PART_SIZE: String(1024 * 1024), MODELPIN_FETCH_CONCURRENCY: '4' },
    });
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(f.stdout.trim()).equals(big)).toBe(true);
    expect(front.seen.blobHost.length).toBeGreaterThan(6); // the probe plus one GET per 1 MiB part
    expect(front.seen.blobHost.every((r) => r.authorization === undefined)).toBe(true);
    expect(front.seen.blobHost.filter((r) => r.range !== undefined).length).toBe(front.seen.blobHost.length);
    expect(front.seen.registry.some((r) => r.url.includes('/manifests/') && r.authorization?.startsWith('Basic '))).toBe(true);
  });

  it('a tampered layer is refused: the sidecar exits with MODELPIN_E_DIGEST_MISMATCH and is never ready', async () => {
    const front = await startAuthProxy(reg, { mode: 'basic', username: USER, password: PASS, tamperBlobs: true });
    fronts.push(front);
    const manifest = orasPush(`${reg.host}/tampered/fraud:v1`, 'model.onnx', MODEL);
    const cache = dir();
    const p = spawnServe([
      'serve', '--uri', `oci://${front.host}/tampered/fraud@${manifest}`, '--digest', sha(MODEL), '--name', 'fraud-detector', '--port', '0', '--host', '127.0.0.1',
      '--cache-dir', cache, '--credentials-dir', credsDir({ username: USER, password: PASS }),
    ]);
    const port = await p.port;
    expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`).catch(() => ({ status: 0 }))).status).not.toBe(200);
    const exit = await p.exit;
    expect(exit.code).toBe(1);
    expect(p.stderr()).toContain('MODELPIN_E_DIGEST_MISMATCH');
    expect(p.logs().some((l) => l.msg === 'ready')).toBe(false);
  });
});

// The sidecar's configuration: flags and MODELPIN_* variables → one frozen config, or every
// problem at once, each quoting the value as given.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, defaultCacheDir, envName, SERVE_FLAGS, serveConfig } from '../../../sidecar/config.js';

const required = { uri: 'file:///m.onnx', digest: 'sha256:' + 'a'.repeat(64), name: 'm' };

describe('serveConfig', () => {
  it('applies defaults: batching off, one worker, the user cache dir off the image', () => {
    const c = serveConfig(required, { HOME: '/home/ada' });
    expect(c).toMatchObject({ port: 8080, workers: 1, maxBatchSize: 1, batchingForce: false, maxRequestRows: 1024, cacheDir: '/home/ada/.cache/modelpin', optimizedModelCache: false });
    expect(c.warmup).toEqual({ auto: true });
    expect(c.ort).toEqual({ intraOpThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, enableMemPattern: true });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('finds the cache under XDG_CACHE_HOME, and takes the image volume from MODELPIN_CACHE_DIR', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/ada' })).toBe('/x/cache/modelpin');
    // A relative XDG_CACHE_HOME is invalid per the spec and ignored.
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/home/ada' })).toBe('/home/ada/.cache/modelpin');
    expect(serveConfig(required, { MODELPIN_CACHE_DIR: '/var/cache/modelpin', HOME: '/home/ada' }).cacheDir).toBe('/var/cache/modelpin');
    // The sidecar image sets that variable to the volume the rendered pod mounts.
    expect(readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8')).toMatch(/ENV [^\n]*MODELPIN_CACHE_DIR=\/var\/cache\/modelpin/);
  });

  it('takes every flag from its MODELPIN_* variable, and a flag wins over it', () => {
    const env = { MODELPIN_URI: required.uri, MODELPIN_DIGEST: required.digest, MODELPIN_NAME: 'env', MODELPIN_WORKERS: '3', MODELPIN_BATCHING_FORCE: 'true', MODELPIN_WARMUP_AUTO: 'false' };
    expect(serveConfig({}, env)).toMatchObject({ name: 'env', workers: 3, batchingForce: true, warmup: { auto: false } });
    expect(serveConfig({ workers: '2', 'batching-force': false }, env)).toMatchObject({ workers: 2, batchingForce: false });
    for (const f of SERVE_FLAGS) expect(envName(f.name)).toMatch(/^MODELPIN_[A-Z_]+$/);
  });

  it('reports every problem at once, quoting values as given and naming flag or variable', () => {
    let err: { code: string; problems: { code: string; message: string; hint?: string }[] } | undefined;
    try {
      serveConfig({ uri: required.uri, name: 'm', digest: 'sha256:ABC', port: 'abc', workers: '0', 'graph-optimization-level': 'max', 'warmup-uri': 's3://b/w.json' }, { MODELPIN_MAX_QUEUE: '-1' });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err!.problems.map((p) => p.message)).toEqual([
      '--port must be an integer from 0 to 65535, got "abc"',
      '--workers must be an integer from 1 to 64, got "0"',
      'MODELPIN_MAX_QUEUE must be an integer ≥ 1, got "-1"',
      '--graph-optimization-level must be one of disabled, basic, extended, all, got "max"',
      '"sha256:ABC" is not a digest of the form sha256:<64 lowercase hex>',
      '--warmup-uri needs --warmup-digest (the warm-up file is verified like the model)',
    ]);
    expect(err!.problems[2]!.hint).toBe('set MODELPIN_MAX_QUEUE to a whole number ≥ 1');
    expect(() => serveConfig({ uri: 'x' }, {})).toThrow(expect.objectContaining({ code: 'MODELPIN_E_USAGE', message: '2 problems found' }));
  });

  it('has a default for every optional flag that is not simply absent', () => {
    for (const f of SERVE_FLAGS) {
      if (f.kind === 'bool') expect(DEFAULTS, f.name).toHaveProperty(f.name);
    }
  });

  it('resolves a relative artifact path against the working directory, as `modelpin fetch` does', () => {
    const c = serveConfig({ ...required, uri: 'models/m.onnx', 'signature-uri': './m.onnx.sig', 'warmup-uri': '../w.json', 'warmup-digest': required.digest }, {}, '/work/dir');
    expect(c.uri).toBe('file:///work/dir/models/m.onnx');
    expect(c.signatureUri).toBe('file:///work/dir/m.onnx.sig');
    expect(c.warmup.uri).toBe('file:///work/w.json');
    expect(serveConfig({ ...required, uri: 's3://b/k' }, {}, '/x').uri).toBe('s3://b/k');
  });
});

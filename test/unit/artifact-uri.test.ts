import { describe, expect, it } from 'vitest';
import { formatArtifactUri, isImmutableRef, isPlainPath, parseArtifactUri, redactUserInfo, resolveLocalUri } from '../../src/artifact-uri.js';
import { ModelpinError } from '../../src/errors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModelpinError) return e.code;
    throw e;
  }
  throw new Error('expected an error');
}

describe('parseArtifactUri', () => {
  it.each([
    ['file:///models/m.onnx', { scheme: 'file', path: '/models/m.onnx' }],
    ['/models/m.onnx', { scheme: 'file', path: '/models/m.onnx' }],
    ['./m.onnx', { scheme: 'file', path: './m.onnx' }],
    ['https://example.com/a/m.onnx?x=1', { scheme: 'https', url: 'https://example.com/a/m.onnx?x=1' }],
    ['http://127.0.0.1:9000/m.onnx', { scheme: 'http', url: 'http://127.0.0.1:9000/m.onnx' }],
    ['s3://models/fraud/7/model.onnx', { scheme: 's3', bucket: 'models', key: 'fraud/7/model.onnx' }],
    ['s3://models/m.onnx?versionId=abc-1', { scheme: 's3', bucket: 'models', key: 'm.onnx', versionId: 'abc-1' }],
    ['models:/fraud/7', { scheme: 'models', name: 'fraud', kind: 'version', version: '7' }],
    ['models:/fraud@champion', { scheme: 'models', name: 'fraud', kind: 'alias', alias: 'champion' }],
    ['models:/fraud/latest', { scheme: 'models', name: 'fraud', kind: 'latest' }],
  ])('parses %s', (uri, expected) => {
    expect(parseArtifactUri(uri)).toEqual(expected);
  });

  it('round-trips through formatArtifactUri', () => {
    for (const uri of ['file:///m.onnx', 's3://models/a/b.onnx?versionId=v1', 'models:/x/3', 'models:/x@prod', 'https://h/m.onnx']) {
      expect(formatArtifactUri(parseArtifactUri(uri))).toBe(uri);
    }
  });

  it.each([
    ['', 'MODELPIN_E_SPEC_URI'],
    ['gs://bucket/m.onnx', 'MODELPIN_E_SPEC_URI'],
    ['s3://Bad_Bucket/m.onnx', 'MODELPIN_E_SPEC_URI'],
    ['s3://models/', 'MODELPIN_E_SPEC_URI'],
    ['s3://models/m.onnx?foo=1', 'MODELPIN_E_SPEC_URI'],
    ['s3://models/m.onnx?versionId=', 'MODELPIN_E_SPEC_URI'],
    ['models:/fraud/seven', 'MODELPIN_E_SPEC_URI'],
    ['models:/fraud@', 'MODELPIN_E_SPEC_URI'],
    ['file://host/m.onnx', 'MODELPIN_E_SPEC_URI'],
    ['file:m.onnx', 'MODELPIN_E_SPEC_URI'], // new URL() would read it as /m.onnx
    ['file:./m.onnx', 'MODELPIN_E_SPEC_URI'],
    ['https://user:hunter2@example.com/m.onnx', 'MODELPIN_E_SPEC_INLINE_CREDENTIAL'],
  ])('rejects %j with %s', (uri, code) => {
    expect(codeOf(() => parseArtifactUri(uri, { path: 'spec.model.uri' }))).toBe(code);
  });

  it('never echoes the password of a URI with credentials', () => {
    try {
      parseArtifactUri('https://user:hunter2@example.com/m.onnx');
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('hunter2');
    }
    expect(redactUserInfo('https://u:p@h/x')).toBe('https://***@h/x');
  });

  it('knows which references are immutable', () => {
    expect(isImmutableRef(parseArtifactUri('s3://models/m.onnx?versionId=1'))).toBe(true);
    expect(isImmutableRef(parseArtifactUri('s3://models/m.onnx'))).toBe(false);
    expect(isImmutableRef(parseArtifactUri('models:/m/1'))).toBe(true);
    expect(isImmutableRef(parseArtifactUri('models:/m@prod'))).toBe(false);
  });
});

describe('plain paths on the command line (fetch, serve, lock --uri)', () => {
  it.each(['model.onnx', 'models/m.onnx', './m.onnx', '../m.onnx', '/abs/m.onnx', ' m.onnx '])('%j is a plain path', (p) => {
    expect(isPlainPath(p)).toBe(true);
  });
  it.each(['file:///m.onnx', 's3://b/k', 'https://h/m', 'models:/m/1', 'file:m.onnx', ''])('%j is not', (p) => {
    expect(isPlainPath(p)).toBe(false);
  });

  it('resolves a relative path against the working directory into an absolute file URI, and leaves URIs alone', () => {
    expect(resolveLocalUri('model.onnx', '/work/dir')).toBe('file:///work/dir/model.onnx');
    expect(resolveLocalUri('./sub/m.onnx', '/work/dir')).toBe('file:///work/dir/sub/m.onnx');
    expect(resolveLocalUri('../m.onnx', '/work/dir')).toBe('file:///work/m.onnx');
    expect(resolveLocalUri('/abs/m.onnx', '/work/dir')).toBe('file:///abs/m.onnx');
    for (const uri of ['file:///m.onnx', 's3://models/m.onnx?versionId=1', 'models:/fraud@champion', 'https://h/m.onnx', 'file:m.onnx']) {
      expect(resolveLocalUri(uri, '/work/dir')).toBe(uri);
    }
  });

  it('a resolved path parses back to the same file, whatever characters its name has', () => {
    for (const name of ['a b.onnx', '100%.onnx', 'x#y?.onnx', 'ü.onnx']) {
      expect(parseArtifactUri(resolveLocalUri(name, '/w'))).toEqual({ scheme: 'file', path: `/w/${name}` });
    }
  });
});

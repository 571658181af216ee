import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applySpecEdits } from '../../../src/spec/edit.js';

const SPEC = `# fraud model, owned by risk
apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-detector   # the app name
spec:
  model:
    # where training publishes
    uri: "models:/fraud@champion"   # follow the champion
    format: onnx

    provenance:
      script: train.py
  serving:
    image: ghcr.io/x/modelpin@sha256:${'a'.repeat(64)}
  replicas: 2 # two
`;

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('applySpecEdits', () => {
  it('replaces and inserts scalars keeping every comment, blank line and quote style', () => {
    const out = applySpecEdits(SPEC, [
      { path: ['spec', 'model', 'uri'], value: 'models:/fraud/7' },
      { path: ['spec', 'model', 'digest'], value: D1, after: ['uri'] },
      { path: ['spec', 'model', 'size'], value: 1234, after: ['digest', 'uri'] },
    ]);
    expect(out).toBe(
      SPEC.replace('"models:/fraud@champion"   # follow', `"models:/fraud/7"   # follow`).replace(
        '    format: onnx\n',
        `    digest: ${D1}\n    size: 1234\n    format: onnx\n`,
      ),
    );
    expect(parse(out).spec.model).toEqual({ uri: 'models:/fraud/7', digest: D1, size: 1234, format: 'onnx', provenance: { script: 'train.py' } });
  });

  it('is idempotent: applying the same values again is byte-identical', () => {
    const edits = [
      { path: ['spec', 'model', 'digest'], value: D1, after: ['uri'] },
      { path: ['spec', 'model', 'size'], value: 5, after: ['digest'] },
    ] as const;
    const once = applySpecEdits(SPEC, edits);
    expect(applySpecEdits(once, edits)).toBe(once);
  });

  it('updates an existing digest in place and deletes a key with its line only', () => {
    const pinned = applySpecEdits(SPEC, [
      { path: ['spec', 'model', 'digest'], value: D1, after: ['uri'] },
      { path: ['spec', 'model', 'size'], value: 5, after: ['digest'] },
    ]);
    const out = applySpecEdits(pinned, [
      { path: ['spec', 'model', 'digest'], value: D2 },
      { path: ['spec', 'model', 'size'], value: undefined },
    ]);
    expect(out).toBe(SPEC.replace('    format: onnx\n', `    digest: ${D2}\n    format: onnx\n`));
  });

  it('creates missing parent maps (metadata.annotations) with the file\'s indentation', () => {
    const out = applySpecEdits(SPEC, [{ path: ['metadata', 'annotations', 'modelpin.dev/track'], value: 'models:/fraud@champion' }]);
    expect(out).toContain('  name: fraud-detector   # the app name\n  annotations:\n    modelpin.dev/track: models:/fraud@champion\nspec:\n');
    expect(parse(out).metadata.annotations).toEqual({ 'modelpin.dev/track': 'models:/fraud@champion' });
  });

  it('keeps CRLF line endings', () => {
    const crlf = SPEC.replace(/\n/g, '\r\n');
    const out = applySpecEdits(crlf, [{ path: ['spec', 'model', 'digest'], value: D1, after: ['uri'] }]);
    expect(out).toContain(`\r\n    digest: ${D1}\r\n    format: onnx\r\n`);
    expect(out.replace(/\r\n/g, '').includes('\n')).toBe(false);
  });

  it('falls back to the Document API for flow maps, still keeping the data right', () => {
    const flow = 'apiVersion: v\nspec:\n  model: {uri: s3://b/k, format: onnx}  # inline\n';
    const out = applySpecEdits(flow, [{ path: ['spec', 'model', 'digest'], value: D1 }]);
    expect(parse(out).spec.model).toEqual({ uri: 's3://b/k', format: 'onnx', digest: D1 });
    expect(out).toContain('# inline');
  });

  it('never turns a value with special characters into different data', () => {
    const out = applySpecEdits(SPEC, [{ path: ['spec', 'model', 'uri'], value: 's3://b/k?versionId=a #b: c' }]);
    expect(parse(out).spec.model.uri).toBe('s3://b/k?versionId=a #b: c');
  });
});

describe('applySpecEdits: deleting the last key of a map', () => {
  it('removes the emptied parent too, leaving the rest byte-identical', () => {
    const edit = [{ path: ['metadata', 'annotations', 'modelpin.dev/track'], value: 'models:/fraud@champion' }] as const;
    const withTrack = applySpecEdits(SPEC, edit);
    expect(applySpecEdits(withTrack, [{ path: ['metadata', 'annotations', 'modelpin.dev/track'], value: undefined }])).toBe(SPEC);
  });

  it('keeps sibling annotations', () => {
    const two = applySpecEdits(SPEC, [
      { path: ['metadata', 'annotations', 'a'], value: '1' },
      { path: ['metadata', 'annotations', 'b'], value: '2' },
    ]);
    const out = applySpecEdits(two, [{ path: ['metadata', 'annotations', 'a'], value: undefined }]);
    expect(parse(out).metadata.annotations).toEqual({ b: '2' });
    expect(out).toBe(two.replace("    a: '1'\n", '').replace('    a: "1"\n', '').replace('    a: 1\n', ''));
  });
});

import { describe, expect, it } from 'vitest';
import { formatChanges, lockSource, planLock, TRACK_ANNOTATION } from '../../../src/pin/plan.js';
import { fullObjectSha256 } from '../../../src/cli/pin/artifact.js';
import { pickModelFile } from '../../../sidecar/sources/mlflow.js';
import { multipartPartSize } from '../../../src/cli/pin/publish.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('planLock', () => {
  it('pins an alias to the concrete version and remembers the alias', () => {
    const p = planLock({ uri: 'models:/m@champion' }, 'models:/m@champion', { uri: 'models:/m/7', digest: D1, size: 10 });
    expect(p.changes.map((c) => c.field)).toEqual(['spec.model.uri', 'spec.model.digest', 'spec.model.size', `metadata.annotations["${TRACK_ANNOTATION}"]`]);
    expect(p.edits.find((e) => e.path[0] === 'metadata')?.value).toBe('models:/m@champion');
  });

  it('changes nothing when the resolution equals the pin', () => {
    const cur = { uri: 'models:/m/7', digest: D1, size: 10, track: 'models:/m@champion' };
    expect(planLock(cur, lockSource(cur), { uri: 'models:/m/7', digest: D1, size: 10 }).changes).toEqual([]);
  });

  it('follows the tracked source, and an explicit immutable --uri drops the tracking', () => {
    const cur = { uri: 'models:/m/7', digest: D1, track: 'models:/m@champion' };
    expect(lockSource(cur)).toBe('models:/m@champion');
    const p = planLock(cur, lockSource(cur, 'models:/m/5'), { uri: 'models:/m/5', digest: D2 });
    expect(p.edits.find((e) => e.path[0] === 'metadata')).toEqual({ path: ['metadata', 'annotations', TRACK_ANNOTATION], value: undefined });
  });

  it('drops a stale size when the digest changes and the new size is unknown, keeps it otherwise', () => {
    expect(planLock({ uri: 'https://x/m', digest: D1, size: 5 }, 'https://x/m', { uri: 'https://x/m', digest: D2 }).edits).toContainEqual(
      expect.objectContaining({ path: ['spec', 'model', 'size'], value: undefined }),
    );
    expect(planLock({ uri: 'https://x/m', digest: D1, size: 5 }, 'https://x/m', { uri: 'https://x/m', digest: D1 }).changes).toEqual([]);
  });

  it('formats changes for --check', () => {
    expect(formatChanges([{ field: 'spec.model.digest', to: D1 }])).toBe(`  spec.model.digest: (none) -> ${D1}`);
  });
});

describe('fullObjectSha256', () => {
  const b64 = Buffer.from('1'.repeat(64), 'hex').toString('base64');
  it('accepts a full-object SHA-256 only', () => {
    expect(fullObjectSha256(b64, 'FULL_OBJECT')).toBe(D1);
    expect(fullObjectSha256(b64, undefined)).toBe(D1);
    expect(fullObjectSha256(`${b64}-3`, undefined)).toBeUndefined();
    expect(fullObjectSha256(b64, 'COMPOSITE')).toBeUndefined();
    expect(fullObjectSha256(undefined, 'FULL_OBJECT')).toBeUndefined();
    expect(fullObjectSha256(Buffer.from('short').toString('base64'), undefined)).toBeUndefined();
  });
});

describe('pickModelFile (MLflow model directories)', () => {
  it('prefers model.onnx, else the only .onnx, else the only archive; refuses ambiguity', () => {
    expect(pickModelFile(['MLmodel', 'model.onnx', 'other.onnx'], 'd')).toBe('model.onnx');
    expect(pickModelFile(['MLmodel', 'net.onnx'], 'd')).toBe('net.onnx');
    expect(pickModelFile(['MLmodel', 'bundle.tar.gz'], 'd')).toBe('bundle.tar.gz');
    expect(() => pickModelFile(['a.onnx', 'b.onnx'], 'd')).toThrow(/several .onnx files/);
    expect(() => pickModelFile(['MLmodel'], 'd')).toThrow(/no single model file/);
  });
});

describe('multipartPartSize', () => {
  it('stays within S3 limits: >= 5 MiB parts, <= 10,000 parts', () => {
    const MiB = 1024 * 1024;
    expect(multipartPartSize(11 * MiB)).toBe(5.5 * MiB);
    expect(multipartPartSize(2 * 1024 * MiB)).toBe(64 * MiB);
    const huge = 5 * 1024 * 1024 * MiB;
    expect(Math.ceil(huge / multipartPartSize(huge))).toBeLessThanOrEqual(10_000);
  });
});

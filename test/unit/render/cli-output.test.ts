// `modelpin render` writes its manifests straight to file descriptor 1 (src/cli/write-fd.ts).
// A pipe that a parent left non-blocking answers EAGAIN once it is full; the rest must then go out
// through process.stdout, whole and in order. Python holds such a pipe shut for a moment so the
// render really fills it. `npm test` builds dist/ first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../../dist/modelpin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'modelpin-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ~4000 environment variables: a manifest of a few hundred KiB, several times a pipe's buffer.
const env = Array.from({ length: 4000 }, (_, i) => `      - {name: VAR_${i}, value: "value number ${i} of a long list"}`).join('\n');
writeFileSync(
  join(dir, 'modelpin.yaml'),
  `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: big
spec:
  model:
    uri: s3://models/big/model.onnx
    digest: sha256:${'a'.repeat(64)}
  serving:
    image: ghcr.io/example/modelpin:0.1.0@sha256:${'b'.repeat(64)}
    env:
${env}
`,
);

const NONBLOCKING_READER = String.raw`
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen(sys.argv[1:], stdout=w)
os.close(w)
time.sleep(0.5)
out = bytearray()
while True:
    b = os.read(r, 65536)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
sys.exit(p.wait())
`;

describe('render output', () => {
  it('arrives whole through a blocking pipe and through a full non-blocking one', () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
    const plain = spawnSync(process.execPath, [cli, 'render', dir], { maxBuffer: 64 * 1024 * 1024 });
    expect(plain.status, plain.stderr.toString()).toBe(0);
    expect(plain.stdout.length).toBeGreaterThan(4 * 65536);
    expect(plain.stdout.toString()).toContain('VAR_3999');

    const nb = spawnSync('python3', ['-c', NONBLOCKING_READER, process.execPath, cli, 'render', dir], { maxBuffer: 64 * 1024 * 1024 });
    expect(nb.status, nb.stderr.toString()).toBe(0);
    expect(nb.stdout.equals(plain.stdout)).toBe(true);
  });
});

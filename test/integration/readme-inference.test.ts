// The README's "Inference: calling the model" examples, run as written against a real
// `modelpin serve` of the example model: the curl lines with sh, both Python programs with the
// peers' Python (tritonclient[http], numpy). Only the address changes (the server listens on a
// free port instead of a port-forward on 8080).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from './support/serve-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const python = process.env.MODELPIN_PEERS_PYTHON ?? '/root/.cache/modelpin/venv-peers/bin/python';
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const start = readme.indexOf('\n## Inference: calling the model');
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

let server: ServeProcess;
let cache: string;
let address: string;

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'modelpin-readme-inference-'));
  server = spawnServe([
    'serve', '--uri', `file://${join(root, 'plugin/examples/fraud-detector/model.onnx')}`,
    '--digest', 'sha256:fcc98cd56907baf22ed2d6238ef832578c8cd8adbdcd2d25a697af0f2092a917',
    '--name', 'fraud-detector', '--port', '0', '--host', '127.0.0.1', '--cache-dir', cache,
  ]);
  address = `127.0.0.1:${await server.port}`;
  await server.ready;
});

afterAll(async () => {
  server?.child.kill('SIGINT');
  await server?.exit;
  if (cache) rmSync(cache, { recursive: true, force: true });
});

const here = (code: string) => code.replaceAll('localhost:8080', address);

describe('README: Inference', () => {
  it('has one curl block and two Python programs', () => {
    expect(start).toBeGreaterThan(0);
    expect(blocks('sh')).toHaveLength(1);
    expect(blocks('python')).toHaveLength(2);
  });

  it('the curl lines: ready, metadata with the digest, one inference', () => {
    const r = spawnSync('sh', ['-ec', here(blocks('sh')[0]!)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [ready, metadata, answer] = r.stdout.split('\n');
    expect(ready).toBe('200');
    expect(JSON.parse(metadata!)).toMatchObject({ name: 'fraud-detector', parameters: { digest: expect.stringMatching(/^sha256:/) } });
    expect(JSON.parse(answer!)).toMatchObject({ model_name: 'fraud-detector', outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 10] }] });
  });

  it.each([0, 1])('Python program %i prints the top class of each of two rows', (i) => {
    if (!existsSync(python)) throw new Error(`peers python not found at ${python}: set MODELPIN_PEERS_PYTHON (needs tritonclient[http], numpy)`);
    const r = spawnSync(python, ['-c', here(blocks('python')[i]!)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\[\d,? \d\]$/); // [3, 0] from the list, [3 0] from numpy
  });
});

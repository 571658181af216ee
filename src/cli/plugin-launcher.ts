#!/usr/bin/env node
// `modelpin` in the plugin image (/usr/local/bin/modelpin links here, dist/modelpin-plugin.cjs).
// Argo CD runs `modelpin render` for every manifest generation, so render loads a render-only
// bundle (dist/render.cjs, src/cli/render-entry.ts) with the V8 code cache that the image build
// writes with the image's own node:
//   node dist/modelpin-plugin.cjs --write-render-cache
// A missing cache, or one V8 rejects (another node version), costs only compile time. Every other
// command, and a render the bundle hands back (YAML beyond the block subset, render-time
// resolution, --help), runs the full CLI (dist/modelpin.js) in this same process.
// Built as CommonJS: `require` and `__dirname` below are the CommonJS ones.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

type RenderBundle = typeof import('./render-entry.js');

const BUNDLE = join(__dirname, 'render.cjs');
const CACHE = `${BUNDLE}.cache`;

function compileBundle(cachedData: Buffer | undefined): Script {
  // The bundle is ASCII (esbuild escapes everything else), so latin1 reads it without a UTF-8 decode.
  return new Script(readFileSync(BUNDLE, 'latin1'), { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
}

function loadBundle(cachedData: Buffer | undefined): { script: Script; bundle: RenderBundle } {
  // One function expression (build.mjs wraps it) taking CommonJS's arguments.
  const script = compileBundle(cachedData);
  const mod = { exports: {} as RenderBundle };
  (script.runInThisContext() as (req: NodeJS.Require, m: typeof mod, e: object) => void)(require, mod, mod.exports);
  return { script, bundle: mod.exports };
}

function readCache(): Buffer | undefined {
  try {
    return readFileSync(CACHE);
  } catch {
    return undefined;
  }
}

async function fullCli(): Promise<void> {
  await import(pathToFileURL(join(__dirname, 'modelpin.js')).href);
}

async function render(args: readonly string[]): Promise<void> {
  const { bundle } = loadBundle(readCache());
  if (!(await bundle.render(args))) return fullCli();
  // Every write has completed (writeFd awaits its stream fallback). Exiting here skips the
  // isolate teardown that a natural exit does, which frees the whole heap first (~1-2 ms).
  process.exit();
}

/** Image build step: warm the bundle up, write its code cache atomically, and check that V8 takes it. */
async function writeRenderCache(): Promise<void> {
  const { script, bundle } = loadBundle(undefined);
  try {
    await bundle.warmUp();
  } catch (err) {
    const why = err instanceof bundle.NeedsFullCli ? 'the warm-up spec left the block-YAML fast path (src/spec/block-yaml.ts)' : String(err);
    throw new Error(`writing the render cache failed: ${why}`);
  }
  // A render that fails reports the error (above) and sets the exit code instead of throwing.
  if (process.exitCode) throw new Error('writing the render cache failed: the warm-up render failed');
  const tmp = `${CACHE}.${process.pid}.tmp`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, CACHE);
  process.stdout.write(`${CACHE}\n`);
}

/** Exit 0 when V8 accepts the code cache (same node, same flags), 1 when it is missing or rejected. */
function checkRenderCache(): void {
  const cachedData = readCache();
  const script = cachedData && compileBundle(cachedData);
  if (!script || script.cachedDataRejected) {
    process.stderr.write(`modelpin: the render cache ${CACHE} is ${script ? 'rejected by this node' : 'missing'}; write it with --write-render-cache\n`);
    process.exitCode = 1;
  }
}

const args = process.argv.slice(2);
const run =
  args[0] === 'render' ? render(args.slice(1))
  : args[0] === '--write-render-cache' ? writeRenderCache()
  : args[0] === '--check-render-cache' ? Promise.resolve(checkRenderCache())
  : fullCli();
run.catch((err: unknown) => {
  process.stderr.write(`modelpin: MODELPIN_E_INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(70);
});

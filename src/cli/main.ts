#!/usr/bin/env node
// Entry point. Argo CD runs `modelpin render` for every manifest generation, and every pod start
// runs `modelpin fetch`/`serve`, so the two hot commands are dispatched before yargs (~70 ms to
// load) is imported: a warm-cache fetch is then a stat and a print. Everything else, including
// --help and malformed flags, goes to the yargs CLI in ./cli.ts with its usual messages.
import module from 'node:module';

// Node ≥ 22.1 can cache compiled bytecode on disk (the plugin container's /tmp is writable);
// on Node 20 the function does not exist and start-up simply compiles from source.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// On Node 20 the AWS SDK prints a multi-line deprecation notice to stderr on first use, which
// breaks the sidecar's one-JSON-object-per-line logs. modelpin states its own Node support
// (package.json engines; the images run Node 24), so the notice is turned off unless set.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const argv = process.argv.slice(2);
const handled =
  (argv[0] === 'render' && (await (await import('./commands/render.js')).renderFastPath(argv.slice(1)))) ||
  (argv[0] === 'fetch' && (await (await import('./commands/fetch.js')).fetchFastPath(argv.slice(1))));
if (!handled) await import('./cli.js');

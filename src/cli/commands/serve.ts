// `modelpin serve`: the sidecar. Fetches and verifies the pinned artifact, loads it into ONNX
// Runtime worker threads and serves it over the Open Inference Protocol (KServe V2) REST API.
// Flags and their MODELPIN_<UPPER_SNAKE> variables are defined once, in sidecar/config.ts. Exit 0
// after a clean SIGTERM drain; non-zero with the reason (one final JSON log line) if the artifact
// cannot be fetched, verified or loaded, or the drain bound cut work off.
import type { Argv, CommandModule } from 'yargs';
import { SERVE_FLAGS, serveConfig, type FlagDef } from '../../../sidecar/config.js';

type ServeArgs = Record<string, unknown>;

function option(f: FlagDef): Record<string, unknown> {
  // Numbers arrive as strings so that a bad value is quoted as given ("--port abc"), not as NaN.
  const base = { describe: f.describe + (f.required ? ' (required)' : '') };
  if (f.kind === 'bool') return { ...base, type: 'boolean' };
  if (f.kind === 'choice') return { ...base, type: 'string', choices: f.choices };
  return { ...base, type: 'string' };
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Fetch, verify and serve a pinned ONNX model over the Open Inference Protocol (the sidecar)',
  builder: (y: Argv) => {
    for (const f of SERVE_FLAGS) y = y.option(f.name, option(f) as never);
    return y.example('$0 serve --uri s3://models/fraud/model.onnx --digest sha256:… --name fraud-detector', 'serve on :8080') as unknown as Argv<ServeArgs>;
  },
  handler: async (args: ServeArgs) => {
    const { createLogger } = await import('../../../sidecar/log.js');
    const raw: Record<string, unknown> = {};
    // Only flags given on the command line (undefined otherwise: no yargs defaults), so that
    // serveConfig can fall back to each one's MODELPIN_* variable.
    for (const f of SERVE_FLAGS) if (args[f.name] !== undefined) raw[f.name] = args[f.name];
    let log = createLogger({ base: { component: 'serve' } });
    try {
      const cfg = serveConfig(raw);
      log = createLogger({ level: cfg.logLevel, base: { component: 'serve' } });
      await run(cfg, log);
    } catch (err) {
      await fatal(err, log);
    }
  },
};

async function run(cfg: ReturnType<typeof serveConfig>, log: import('../../../sidecar/log.js').Logger): Promise<void> {
  const [{ startServe }, { fetchArtifact }] = await Promise.all([import('../../../sidecar/serve/index.js'), import('../../../sidecar/fetch/index.js')]);
  const handle = await startServe(cfg, { fetch: fetchArtifact, log });
  // SIGTERM/SIGINT: readiness off, (SIGTERM: keep answering for the drain delay,) drain, exit 0.
  // When the drain bound cuts work off, the process ends by SIGTERM's default action: an
  // inference still running in a worker thread cannot be interrupted, and exiting under it
  // would abort in ONNX Runtime's teardown. The exit status is then 143, never 0.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    void handle.shutdown({ delay: signal === 'SIGTERM' }).then((drained) => {
      if (drained) process.exit(0);
      // Cut off: queued work can simply be dropped (exit 1); a run inside a worker cannot.
      if (handle.service.busyWorkers === 0) process.exit(1);
      hardStop();
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  void handle.died.then(() => {
    if (!stopping) hardStop();
  });
  try {
    await handle.ready;
  } catch (err) {
    if (stopping) return;
    throw err;
  }
  // Serve until a signal ends the process.
  await new Promise<never>(() => {});
}

/** End now, with work possibly running in a worker thread: SIGTERM's default action (status 143). */
function hardStop(): never {
  process.removeAllListeners('SIGTERM');
  process.kill(process.pid, 'SIGTERM');
  // Unreachable unless the signal is blocked.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1000).unref();
  throw new Error('unreachable');
}

/** The last word of a failed serve: one JSON log line with code, message and fix, then exit. */
async function fatal(err: unknown, log: import('../../../sidecar/log.js').Logger): Promise<never> {
  const { exitCodeFor, isModelpinError, formatLocation } = await import('../../errors.js');
  if (isModelpinError(err)) {
    const problems = err.problems.map((p) => ({ code: p.code, message: p.message, ...(p.hint ? { fix: p.hint } : {}), ...(formatLocation(p) ? { where: formatLocation(p) } : {}) }));
    log.error('serve failed', { code: err.code, error: err.message, ...(problems[0]?.fix ? { fix: problems[0].fix } : {}), ...(problems.length > 1 ? { problems } : {}) });
    process.exit(exitCodeFor(err.code));
  }
  log.error('serve failed: internal error (a bug; please report it)', { code: 'MODELPIN_E_INTERNAL', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(70);
}

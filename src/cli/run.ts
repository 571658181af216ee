// How the CLI ends: user errors print their formatted problems (no stack trace) and exit with the
// code's status; anything else is a bug and prints the stack so it can be reported.
import { exitCodeFor, formatError, isModelpinError } from '../errors.js';

export function reportFailure(err: unknown): never {
  if (isModelpinError(err)) {
    process.stderr.write(`modelpin: ${formatError(err)}\n`);
    process.exit(exitCodeFor(err.code));
  }
  process.stderr.write(`modelpin: MODELPIN_E_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(70);
}

/** Wrap a handler so that thrown errors end the process the way reportFailure says. */
export function handle<A>(fn: (args: A) => Promise<void> | void): (args: A) => Promise<void> {
  return async (args: A) => {
    try {
      await fn(args);
    } catch (err) {
      reportFailure(err);
    }
  };
}

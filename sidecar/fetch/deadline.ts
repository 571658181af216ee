// Abort signals whose timers and links we hold ourselves. On Node 20,
// `AbortSignal.any([a, AbortSignal.timeout(ms)])` never fires if a GC runs while only the combined
// signal references the timeout signal (reproduced with --expose-gc; Node 24 is not affected), so
// a download could outlive its total timeout forever. Here the timer is a plain setTimeout kept
// in a closure until dispose(), and the parent → child links are ordinary event listeners, so
// everything that must fire is strongly reachable for as long as it matters, on every Node.

/** An AbortController that also aborts when a parent does, or when its own deadline passes. */
export interface Scope {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  /** Clear the timer and detach from the parents (idempotent). Call when the work is over. */
  dispose(): void;
}

/** The reason a scope's deadline aborts with: a DOMException named TimeoutError, as AbortSignal.timeout. */
export function timeoutReason(ms: number): DOMException {
  return new DOMException(`The operation was aborted due to timeout (${ms} ms)`, 'TimeoutError');
}

/**
 * A child scope of `parents` (undefined entries are skipped), with an optional deadline in ms.
 * Aborted at creation if a parent already is.
 */
export function scope(parents: readonly (AbortSignal | undefined)[], timeoutMs?: number): Scope {
  const ctl = new AbortController();
  const links: [AbortSignal, () => void][] = [];
  let timer: NodeJS.Timeout | undefined;
  const dispose = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const [p, f] of links.splice(0)) p.removeEventListener('abort', f);
  };
  const abort = (reason?: unknown) => {
    dispose();
    if (!ctl.signal.aborted) ctl.abort(reason);
  };
  for (const p of parents) {
    if (!p) continue;
    if (p.aborted) {
      abort(p.reason);
      return { signal: ctl.signal, abort, dispose };
    }
    const f = () => abort(p.reason);
    p.addEventListener('abort', f, { once: true });
    links.push([p, f]);
  }
  if (timeoutMs !== undefined) {
    // unref: the pending I/O keeps the process alive; a forgotten dispose() must not.
    timer = setTimeout(() => abort(timeoutReason(timeoutMs)), timeoutMs);
    timer.unref();
  }
  return { signal: ctl.signal, abort, dispose };
}

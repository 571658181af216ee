// Download progress: a one-line bar on stderr when it is a TTY, otherwise a structured log line
// every few seconds (container logs must not fill with carriage returns).
import type { Logger } from './log.js';

export interface Progress {
  update(bytes: number, total: number | undefined): void;
  done(): void;
}

export interface ProgressOptions {
  mode: boolean | 'auto';
  log: Logger;
  label: string;
  stream?: NodeJS.WriteStream;
  /** Interval between log lines when not on a TTY (default 5 s). */
  logIntervalMs?: number;
  now?: () => number;
}

const noop: Progress = { update() {}, done() {} };

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.mode === false) return noop;
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const tty = opts.mode === 'auto' ? Boolean(stream.isTTY) : opts.mode === true && Boolean(stream.isTTY);
  let last = -Infinity;
  let lastBytes = 0;
  let lastTotal: number | undefined;
  let finished = false;
  const interval = tty ? 100 : (opts.logIntervalMs ?? 5_000);
  const rate = (b: number) => b / Math.max(0.001, (now() - t0) / 1000);

  const draw = (bytes: number, total: number | undefined) => {
    const mib = (n: number) => (n / 1048576).toFixed(1);
    if (tty) {
      const width = 30;
      const frac = total ? Math.min(1, bytes / total) : 0;
      const bar = total ? '█'.repeat(Math.round(frac * width)).padEnd(width, '░') : '';
      const pct = total ? `${(frac * 100).toFixed(0).padStart(3)}% ` : '';
      stream.write(`\r${opts.label} ${bar} ${pct}${mib(bytes)}${total ? '/' + mib(total) : ''} MiB  ${mib(rate(bytes))} MiB/s\x1b[K`);
    } else {
      opts.log.info('fetch progress', {
        bytes,
        ...(total === undefined ? {} : { total, percent: Math.floor((bytes / total) * 100) }),
        bytesPerSecond: Math.round(rate(bytes)),
      });
    }
  };
  return {
    update(bytes, total) {
      lastBytes = bytes;
      lastTotal = total;
      const t = now();
      if (t - last < interval) return;
      last = t;
      draw(bytes, total);
    },
    done() {
      // Idempotent: callers end it on success and again in `finally`.
      if (finished) return;
      finished = true;
      if (tty && last > -Infinity) {
        draw(lastBytes, lastTotal);
        stream.write('\n');
      }
    },
  };
}

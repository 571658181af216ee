// Backoff for transient failures: exponential with full jitter (AWS architecture blog's
// "full jitter"), so many pods restarting at once do not hammer the store in lockstep.
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Consecutive failures without progress before giving up (default 6). */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ retries: 6, baseDelayMs: 250, maxDelayMs: 8_000 });

/** Delay before retry number `attempt` (1-based): uniform in [0, min(max, base·2^(attempt-1))]. */
export function backoffDelay(attempt: number, p: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * cap);
}

export async function backoff(attempt: number, p: RetryPolicy, signal: AbortSignal): Promise<void> {
  await sleep(backoffDelay(attempt, p), undefined, { signal });
}

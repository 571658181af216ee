// When the canary analysis can first judge, and when it can first abort. Shared by the spec check
// (a rollout that finishes before the analysis could fail it is refused) and the renderer (the
// AnalysisTemplate's initialDelay and rate window), so both use the same arithmetic.
import { durationSeconds } from './patterns.js';
import type { CanaryAnalysis } from './types.js';

export const DEFAULT_INTERVAL = '1m';
export const DEFAULT_FAILURE_LIMIT = 1;
export const DEFAULT_SCRAPE_INTERVAL = '30s';

/**
 * rate() needs two samples of a series inside its window; four scrapes leave room for one failed
 * or late scrape. At the common 30 s interval that is 2m, and shorter windows flap on sparse traffic.
 */
const SCRAPES_PER_RATE_WINDOW = 4;
/**
 * The analysis starts once the canary pods are available; Prometheus discovers them and scrapes
 * within one interval, and the rate needs a second scrape. Three intervals leave one to spare.
 */
const SCRAPES_BEFORE_FIRST_MEASUREMENT = 3;

export interface AnalysisTiming {
  readonly scrapeSeconds: number;
  readonly intervalSeconds: number;
  readonly failureLimit: number;
  readonly rateWindowSeconds: number;
  readonly initialDelaySeconds: number;
  /** When the measurement that exceeds failureLimit is taken, counted from the analysis' start. */
  readonly abortAfterSeconds: number;
}

export function analysisTiming(a: Pick<CanaryAnalysis, 'interval' | 'failureLimit'> & { prometheus: { scrapeInterval?: string } }): AnalysisTiming {
  const scrapeSeconds = durationSeconds(a.prometheus.scrapeInterval ?? DEFAULT_SCRAPE_INTERVAL);
  const intervalSeconds = durationSeconds(a.interval ?? DEFAULT_INTERVAL);
  const failureLimit = a.failureLimit ?? DEFAULT_FAILURE_LIMIT;
  const initialDelaySeconds = SCRAPES_BEFORE_FIRST_MEASUREMENT * scrapeSeconds;
  return {
    scrapeSeconds,
    intervalSeconds,
    failureLimit,
    rateWindowSeconds: SCRAPES_PER_RATE_WINDOW * scrapeSeconds,
    initialDelaySeconds,
    abortAfterSeconds: initialDelaySeconds + failureLimit * intervalSeconds,
  };
}

/** 90 → "1m30s", 120 → "2m": read by both Prometheus and Argo Rollouts (Go's time.ParseDuration). */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const out = `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
  return out === '' ? '0s' : out;
}

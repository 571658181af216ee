// Promotion gates: a model version is pinned only when the metrics of the MLflow run that produced
// it are inside the thresholds the spec names. Pure; the caller fetches the run. Fails closed: no
// run, a missing metric or a non-finite value is a failure, never a pass.
import type { MetricThreshold } from '../spec/types.js';

export type GateOutcome = 'pass' | 'below-min' | 'above-max' | 'missing' | 'no-run';

export interface GateResult {
  readonly metric: string;
  readonly value?: number;
  readonly min?: number;
  readonly max?: number;
  readonly outcome: GateOutcome;
}

export interface GateEvaluation {
  readonly ok: boolean;
  readonly results: readonly GateResult[];
}

/**
 * Checks every gated metric (sorted by name so output is stable). `runMetrics` undefined means the
 * model version has no run to check against: every gate fails.
 */
export function evaluateGates(thresholds: Readonly<Record<string, MetricThreshold>>, runMetrics: Readonly<Record<string, number>> | undefined): GateEvaluation {
  const results: GateResult[] = Object.keys(thresholds)
    .sort()
    .map((metric) => {
      const t = thresholds[metric] ?? {};
      const bounds = { ...(t.min === undefined ? {} : { min: t.min }), ...(t.max === undefined ? {} : { max: t.max }) };
      if (runMetrics === undefined) return { metric, ...bounds, outcome: 'no-run' as const };
      const value = runMetrics[metric];
      if (value === undefined || !Number.isFinite(value)) return { metric, ...bounds, outcome: 'missing' as const };
      if (t.min !== undefined && value < t.min) return { metric, value, ...bounds, outcome: 'below-min' as const };
      if (t.max !== undefined && value > t.max) return { metric, value, ...bounds, outcome: 'above-max' as const };
      return { metric, value, ...bounds, outcome: 'pass' as const };
    });
  return { ok: results.every((r) => r.outcome === 'pass'), results };
}

function thresholdText(r: GateResult): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return parts.length === 0 ? '(no bound)' : parts.join(' and ');
}

const VERDICT: Record<GateOutcome, string> = {
  pass: 'ok',
  'below-min': 'FAIL (below min)',
  'above-max': 'FAIL (above max)',
  missing: 'FAIL (metric not logged)',
  'no-run': 'FAIL (no run)',
};

/** One line per metric: name, value, threshold, verdict. */
export function formatGateResults(results: readonly GateResult[]): string {
  const rows = results.map((r) => [r.metric, r.value === undefined ? '-' : String(r.value), thresholdText(r), VERDICT[r.outcome]]);
  const header = ['METRIC', 'VALUE', 'THRESHOLD', 'RESULT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  return [header, ...rows].map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

import { describe, expect, it } from 'vitest';
import { evaluateGates, formatGateResults } from '../../../src/pin/gates.js';

describe('evaluateGates', () => {
  it('passes when every metric is inside its bounds (bounds inclusive)', () => {
    const r = evaluateGates({ accuracy: { min: 0.9 }, loss: { max: 0.2 }, auc: { min: 0.8, max: 1 } }, { accuracy: 0.9, loss: 0.2, auc: 0.95, other: 3 });
    expect(r.ok).toBe(true);
    expect(r.results.map((x) => x.metric)).toEqual(['accuracy', 'auc', 'loss']);
  });

  it('fails below min and above max, reporting value and threshold', () => {
    const r = evaluateGates({ accuracy: { min: 0.92 }, loss: { max: 0.1 } }, { accuracy: 0.91, loss: 0.3 });
    expect(r.ok).toBe(false);
    expect(r.results).toEqual([
      { metric: 'accuracy', value: 0.91, min: 0.92, outcome: 'below-min' },
      { metric: 'loss', value: 0.3, max: 0.1, outcome: 'above-max' },
    ]);
    const text = formatGateResults(r.results);
    expect(text).toMatch(/accuracy\s+0\.91\s+>= 0\.92\s+FAIL \(below min\)/);
    expect(text).toMatch(/loss\s+0\.3\s+<= 0\.1\s+FAIL \(above max\)/);
  });

  it('fails closed on a missing metric, a NaN, or no run at all', () => {
    expect(evaluateGates({ accuracy: { min: 0.5 } }, {}).results[0]?.outcome).toBe('missing');
    expect(evaluateGates({ accuracy: { min: 0.5 } }, { accuracy: Number.NaN }).ok).toBe(false);
    const noRun = evaluateGates({ accuracy: { min: 0.5 }, f1: { min: 0.1 } }, undefined);
    expect(noRun.ok).toBe(false);
    expect(noRun.results.every((x) => x.outcome === 'no-run')).toBe(true);
  });
});

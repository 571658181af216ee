// When the canary analysis first measures and when it can first abort, and the spec check that
// refuses a rollout whose pauses end before that.
import { describe, expect, it } from 'vitest';
import { ModelpinError } from '../../../src/errors.js';
import { analysisTiming, formatDuration } from '../../../src/spec/canary-timing.js';
import { parseSpec } from '../../../src/spec/parse.js';

function specWith(rollout: string): string {
  return `apiVersion: modelpin.dev/v1alpha1
kind: ModelDeployment
metadata: {name: fraud}
spec:
  model: {uri: "s3://models/fraud/7/model.onnx", digest: "sha256:${'ab'.repeat(32)}"}
  serving: {image: "ghcr.io/example/modelpin:0.1.0@sha256:${'cd'.repeat(32)}"}
${rollout}`;
}

function problems(text: string): string[] {
  try {
    parseSpec(text, { file: 'modelpin.yaml' });
    return [];
  } catch (e) {
    if (!(e instanceof ModelpinError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

const analysis = (extra = '') => `      analysis:
        prometheus: {address: "http://prometheus:9090"${extra}}
        maxErrorRate: 0.01
        maxP99LatencyMs: 250`;

describe('analysisTiming', () => {
  it('waits 3 scrape intervals, rates over 4, aborts at the measurement past failureLimit', () => {
    expect(analysisTiming({ prometheus: { scrapeInterval: '30s' }, interval: '1m', failureLimit: 1 })).toEqual({
      scrapeSeconds: 30,
      intervalSeconds: 60,
      failureLimit: 1,
      rateWindowSeconds: 120,
      initialDelaySeconds: 90,
      abortAfterSeconds: 150,
    });
    // Defaults: 30s scrapes, 1m interval, failureLimit 1.
    expect(analysisTiming({ prometheus: {} })).toMatchObject({ rateWindowSeconds: 120, abortAfterSeconds: 150 });
    expect(analysisTiming({ prometheus: { scrapeInterval: '15s' }, interval: '30s', failureLimit: 0 }).abortAfterSeconds).toBe(45);
  });

  it('formats durations for Prometheus and Go', () => {
    expect([0, 4, 60, 90, 120, 3600, 3725].map(formatDuration)).toEqual(['0s', '4s', '1m', '1m30s', '2m', '1h', '1h2m5s']);
  });
});

describe('a rollout must last until the analysis could abort it', () => {
  it('accepts pauses that reach the abort, and refuses one second less', () => {
    // 2m30s needed with the defaults.
    expect(problems(specWith(`  rollout:\n    canary:\n      steps: [{weight: 10, pause: 2m}, {weight: 50, pause: 30s}]\n${analysis()}\n`))).toEqual([]);
    expect(problems(specWith(`  rollout:\n    canary:\n      steps: [{weight: 10, pause: 2m}, {weight: 50, pause: 29s}]\n${analysis()}\n`))).toEqual([
      expect.stringMatching(/^spec\.rollout\.canary\.steps: the canary is fully promoted after 2m29s of pauses/),
    ]);
  });

  it('counts the scrape interval, interval and failureLimit the spec sets', () => {
    const steps = '      steps: [{weight: 10, pause: 2m}]';
    expect(problems(specWith(`  rollout:\n    canary:\n${steps}\n${analysis()}\n`))).toHaveLength(1); // 90 + 60 > 120
    expect(problems(specWith(`  rollout:\n    canary:\n${steps}\n${analysis()}\n        interval: 20s\n`))).toEqual([]); // 90 + 20
    expect(problems(specWith(`  rollout:\n    canary:\n${steps}\n${analysis(', scrapeInterval: 10s')}\n`))).toEqual([]); // 30 + 60
    expect(problems(specWith(`  rollout:\n    canary:\n${steps}\n${analysis(', scrapeInterval: 10s')}\n        failureLimit: 3\n`))).toHaveLength(1); // 30 + 180
  });

  it('accepts any timing when a step waits for a manual promote', () => {
    expect(problems(specWith(`  rollout:\n    canary:\n      steps: [{weight: 10, pause: 10s}, {weight: 50}]\n${analysis()}\n`))).toEqual([]);
  });

  it('checks a cluster overlay that shortens the pauses', () => {
    const text = specWith(`  rollout:\n    canary:\n      steps: [{weight: 10, pause: 10m}]\n${analysis()}\n  clusters:\n    dev:\n      rollout: {canary: {steps: [{weight: 50, pause: 1m}]}}\n`);
    expect(problems(text).join('\n')).toMatch(/steps: the canary is fully promoted after 1m of pauses/);
  });
});

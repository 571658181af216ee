// Every malformed spec must fail with the right code AND point at the right place: the location
// is what makes a validation error fixable, so it is asserted as strictly as the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatError, ModelpinError, type ErrorCode, type Problem } from '../../../src/errors.js';
import { parseSpec } from '../../../src/spec/parse.js';

const DIR = new URL('../../fixtures/specs/invalid/', import.meta.url);

function problemsOf(name: string, opts: { cluster?: string } = {}): Problem[] {
  const text = readFileSync(new URL(`${name}.yaml`, DIR), 'utf8');
  try {
    parseSpec(text, { file: `${name}.yaml`, ...opts });
  } catch (e) {
    if (e instanceof ModelpinError) return [...e.problems];
    throw e;
  }
  throw new Error(`${name}.yaml parsed without error`);
}

interface Case {
  name: string;
  code: ErrorCode;
  at: string; // line:col
  path?: string;
  message?: RegExp;
  hint?: RegExp;
}

const cases: Case[] = [
  { name: 'syntax-error', code: 'MODELPIN_E_SPEC_YAML', at: '12:1', message: /Flow sequence/ },
  { name: 'alias-bomb', code: 'MODELPIN_E_SPEC_ALIAS', at: '7:12', message: /alias/ },
  { name: 'multi-doc', code: 'MODELPIN_E_SPEC_YAML', at: '11:1', message: /2 YAML documents/ },
  { name: 'duplicate-key', code: 'MODELPIN_E_SPEC_YAML', at: '12:3', message: /unique/ },
  { name: 'tab-indent', code: 'MODELPIN_E_SPEC_YAML', at: '4:1', hint: /spaces/ },
  { name: 'empty', code: 'MODELPIN_E_SPEC_INVALID', at: '1:1', message: /empty/ },
  { name: 'not-a-mapping', code: 'MODELPIN_E_SPEC_INVALID', at: '1:1', message: /must be a mapping/ },
  { name: 'wrong-api-version', code: 'MODELPIN_E_SPEC_INVALID', at: '1:13', path: 'apiVersion', message: /modelpin\.dev\/v1alpha1/ },
  { name: 'wrong-kind', code: 'MODELPIN_E_SPEC_INVALID', at: '2:7', path: 'kind', message: /ModelDeployment/ },
  { name: 'bad-name', code: 'MODELPIN_E_SPEC_INVALID', at: '4:9', path: 'metadata.name', message: /DNS-1123 label/ },
  { name: 'long-name', code: 'MODELPIN_E_SPEC_INVALID', at: '4:9', path: 'metadata.name', message: /64 characters.*63/ },
  { name: 'bad-label-key', code: 'MODELPIN_E_SPEC_INVALID', at: '6:5', path: 'metadata.labels["-team"]', message: /label key "-team"/ },
  { name: 'numeric-label-value', code: 'MODELPIN_E_SPEC_INVALID', at: '6:14', path: 'metadata.labels.version', hint: /quote the value: "7"/ },
  { name: 'unknown-field', code: 'MODELPIN_E_SPEC_UNKNOWN_FIELD', at: '11:3', path: 'spec.replica', message: /did you mean `replicas`\?/ },
  { name: 'misplaced-field', code: 'MODELPIN_E_SPEC_UNKNOWN_FIELD', at: '11:5', path: 'spec.serving.replicas', hint: /belongs at spec\.replicas/ },
  { name: 'bad-digest', code: 'MODELPIN_E_SPEC_DIGEST', at: '8:13', path: 'spec.model.digest', hint: /lowercase/ },
  { name: 'missing-digest', code: 'MODELPIN_E_SPEC_UNPINNED', at: '7:5', path: 'spec.model.digest', hint: /modelpin lock .*sha256sum/ },
  { name: 'bad-uri-scheme', code: 'MODELPIN_E_SPEC_URI', at: '7:10', path: 'spec.model.uri', message: /unsupported scheme "ftp"/ },
  { name: 'relative-file-uri', code: 'MODELPIN_E_SPEC_URI', at: '7:10', path: 'spec.model.uri', hint: /file:\/\/\// },
  { name: 'models-without-tracking', code: 'MODELPIN_E_SPEC_URI', at: '7:10', path: 'spec.model.uri', hint: /MLFLOW_TRACKING_URI/ },
  { name: 'creds-in-uri', code: 'MODELPIN_E_SPEC_INLINE_CREDENTIAL', at: '7:10', path: 'spec.model.uri', hint: /credentials\.secretName/ },
  { name: 'akia', code: 'MODELPIN_E_SPEC_INLINE_CREDENTIAL', at: '6:11', path: 'metadata.annotations.note', message: /AWS access key/ },
  { name: 'password-key', code: 'MODELPIN_E_SPEC_INLINE_CREDENTIAL', at: '11:17', path: 'spec.model.credentials.password' },
  { name: 'secret-env', code: 'MODELPIN_E_SPEC_INLINE_CREDENTIAL', at: '13:16', path: 'spec.serving.env[0].value', message: /AWS_SECRET_ACCESS_KEY/ },
  { name: 'bad-secret-name', code: 'MODELPIN_E_SPEC_INVALID', at: '10:19', path: 'spec.model.credentials.secretName', message: /Secret name/ },
  { name: 'entry-escapes', code: 'MODELPIN_E_SPEC_INVALID', at: '10:12', path: 'spec.model.entry', message: /\.\./ },
  { name: 'entry-without-tar', code: 'MODELPIN_E_SPEC_INVALID', at: '9:5', path: 'spec.model.entry', message: /only to format: tar/ },
  { name: 'warmup-uri-without-digest', code: 'MODELPIN_E_SPEC_UNPINNED', at: '12:12', path: 'spec.serving.warmup.uri', hint: /warmup\.digest/ },
  { name: 'warmup-relative-uri', code: 'MODELPIN_E_SPEC_URI', at: '12:12', path: 'spec.serving.warmup.uri', hint: /file:\/\/\// },
  { name: 'warmup-bad-datatype', code: 'MODELPIN_E_SPEC_INVALID', at: '13:40', path: 'spec.serving.warmup.samples[0].inputs[0].datatype', message: /FP32/ },
  { name: 'bad-port', code: 'MODELPIN_E_SPEC_INVALID', at: '11:11', path: 'spec.serving.port', message: /between 1 and 65535/ },
  { name: 'port-as-string', code: 'MODELPIN_E_SPEC_INVALID', at: '11:11', path: 'spec.serving.port', message: /whole number/ },
  { name: 'bad-env-name', code: 'MODELPIN_E_SPEC_INVALID', at: '12:16', path: 'spec.serving.env[0].name', message: /C identifier/ },
  { name: 'bad-quantity', code: 'MODELPIN_E_SPEC_INVALID', at: '13:17', path: 'spec.serving.resources.limits.memory', message: /quantity/ },
  { name: 'bad-image', code: 'MODELPIN_E_SPEC_INVALID', at: '12:12', path: 'spec.app.image', message: /image reference/ },
  { name: 'app-port-clash', code: 'MODELPIN_E_SPEC_INVALID', at: '13:11', path: 'spec.app.port', message: /clashes with serving\.port/ },
  { name: 'app-grpc-port-clash', code: 'MODELPIN_E_SPEC_INVALID', at: '13:11', path: 'spec.app.port', message: /clashes with serving\.grpcPort/ },
  { name: 'grpc-port-clash', code: 'MODELPIN_E_SPEC_INVALID', at: '12:15', path: 'spec.serving.grpcPort', message: /is also serving\.port/ },
  { name: 'negative-replicas', code: 'MODELPIN_E_SPEC_INVALID', at: '11:13', path: 'spec.replicas', message: /≥ 0/ },
  { name: 'empty-steps', code: 'MODELPIN_E_SPEC_INVALID', at: '13:14', path: 'spec.rollout.canary.steps', message: /at least 1/ },
  { name: 'non-increasing-weights', code: 'MODELPIN_E_SPEC_INVALID', at: '15:20', path: 'spec.rollout.canary.steps[1].weight', message: /strictly increase/ },
  { name: 'bad-pause', code: 'MODELPIN_E_SPEC_INVALID', at: '15:18', path: 'spec.rollout.canary.steps[0].pause', message: /duration/ },
  { name: 'error-rate-above-one', code: 'MODELPIN_E_SPEC_INVALID', at: '16:23', path: 'spec.rollout.canary.analysis.maxErrorRate', message: /between 0 and 1/ },
  { name: 'prometheus-not-http', code: 'MODELPIN_E_SPEC_INVALID', at: '15:31', path: 'spec.rollout.canary.analysis.prometheus.address', message: /http/ },
  {
    name: 'analysis-outlasted',
    code: 'MODELPIN_E_SPEC_INVALID',
    at: '16:9',
    path: 'spec.rollout.canary.steps',
    message: /fully promoted after 1m30s of pauses, before the analysis can abort it: .*, so 2m30s$/,
    hint: /at least 2m30s/,
  },
  { name: 'bad-pod-monitor-label', code: 'MODELPIN_E_SPEC_INVALID', at: '17:39', path: 'spec.rollout.canary.analysis.prometheus.podMonitorLabels.release', message: /label value/ },
  { name: 'zero-scrape-interval', code: 'MODELPIN_E_SPEC_INVALID', at: '15:73', path: 'spec.rollout.canary.analysis.prometheus.scrapeInterval', message: /longer than zero/ },
  { name: 'gate-no-bounds', code: 'MODELPIN_E_SPEC_INVALID', at: '15:19', path: 'spec.gates.mlflow.metrics.accuracy', message: /at least one of min, max/ },
  { name: 'gate-min-gt-max', code: 'MODELPIN_E_SPEC_INVALID', at: '15:25', path: 'spec.gates.mlflow.metrics.accuracy.min', message: /greater than max/ },
  { name: 'broken-overlay', code: 'MODELPIN_E_SPEC_INVALID', at: '16:16', path: 'spec.clusters.staging.serving.image', message: /required field `image`/ },
  { name: 'overlay-type-error', code: 'MODELPIN_E_SPEC_INVALID', at: '13:17', path: 'spec.clusters.prod-eu.replicas', message: /whole number/ },
];

describe('malformed specs: code and location', () => {
  it.each(cases)('$name → $code at $at', (c) => {
    const problems = problemsOf(c.name);
    expect(problems).toHaveLength(1);
    const p = problems[0]!;
    expect(p.code).toBe(c.code);
    expect(`${p.line}:${p.col}`).toBe(c.at);
    expect(p.file).toBe(`${c.name}.yaml`);
    if (c.path !== undefined) expect(p.path).toBe(c.path);
    if (c.message) expect(p.message).toMatch(c.message);
    if (c.hint) expect(p.hint).toMatch(c.hint);
  });

  it('has at least 25 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
});

describe('secrets are never echoed', () => {
  it.each([
    ['creds-in-uri', 'hunter2'],
    ['password-key', 'hunter2'],
    ['akia', 'AKIAIOSFODNN7EXAMPLE'],
    ['secret-env', 'wJalrXUtnFEMI'],
  ])('%s does not print %s', (name, secret) => {
    const text = readFileSync(new URL(`${name}.yaml`, DIR), 'utf8');
    let err: unknown;
    try {
      parseSpec(text, { file: 'x.yaml' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelpinError);
    const out = formatError(err as ModelpinError) + JSON.stringify((err as ModelpinError).problems);
    expect(out).not.toContain(secret);
  });

  it('an unknown `password:` field is reported as an inline credential, not as a typo', () => {
    const codes = problemsOf('password-key').map((p) => p.code);
    expect(codes).toEqual(['MODELPIN_E_SPEC_INLINE_CREDENTIAL']);
  });
});

describe('whole-text limits', () => {
  it('refuses a text over 1 MiB before parsing it', () => {
    const text = 'apiVersion: modelpin.dev/v1alpha1\n' + `# ${'x'.repeat(1024 * 1024)}\n`;
    expect(() => parseSpec(text, { file: 'big.yaml' })).toThrow(expect.objectContaining({ code: 'MODELPIN_E_SPEC_TOO_LARGE' }));
  });

  it('accepts a few harmless aliases', () => {
    const text = readFileSync(new URL('../valid/minimal.yaml', DIR), 'utf8').replace('metadata:\n', 'metadata:\n  labels: {a: &v x, b: *v}\n');
    expect(parseSpec(text, { file: 'm.yaml' }).spec.metadata.labels).toEqual({ a: 'x', b: 'x' });
  });
});

describe('all problems at once', () => {
  it('reports every problem of a spec, sorted by position', () => {
    const problems = problemsOf('many-problems');
    expect(problems.map((p) => [p.code, `${p.line}:${p.col}`, p.path])).toEqual([
      ['MODELPIN_E_SPEC_INVALID', '4:9', 'metadata.name'],
      ['MODELPIN_E_SPEC_UNPINNED', '7:5', 'spec.model.digest'],
      ['MODELPIN_E_SPEC_INVALID', '10:13', 'spec.replicas'],
      ['MODELPIN_E_SPEC_INVALID', '15:20', 'spec.rollout.canary.steps[1].weight'],
    ]);
  });

  it('the error message counts the problems and formatError prints each with file:line:col', () => {
    let err: ModelpinError | undefined;
    try {
      parseSpec(readFileSync(new URL('many-problems.yaml', DIR), 'utf8'), { file: 'deploy/modelpin.yaml' });
    } catch (e) {
      err = e as ModelpinError;
    }
    expect(err?.message).toBe('4 problems found');
    const text = formatError(err!);
    expect(text).toContain('deploy/modelpin.yaml:4:9 (metadata.name): MODELPIN_E_SPEC_INVALID:');
    expect(text).toContain('deploy/modelpin.yaml:15:20 (spec.rollout.canary.steps[1].weight): MODELPIN_E_SPEC_INVALID:');
  });
});

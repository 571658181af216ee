// YAML syntax failures: one problem (the first error, with a count of follow-ons) that points at
// the line to fix, and never the text of a secret that happens to sit near the syntax error
// (stderr is what the Argo CD UI shows).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatError, ModelpinError, type Problem } from '../../../src/errors.js';
import { parseSpec } from '../../../src/spec/parse.js';
import { redactYamlMessage } from '../../../src/spec/yaml-errors.js';

const example = readFileSync(new URL('../../../plugin/examples/fraud-detector/modelpin.yaml', import.meta.url), 'utf8');
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

function fail(text: string): { problems: readonly Problem[]; output: string } {
  try {
    parseSpec(text, { file: 'modelpin.yaml' });
  } catch (e) {
    if (!(e instanceof ModelpinError)) throw e;
    return { problems: e.problems, output: formatError(e) };
  }
  throw new Error('the spec parsed');
}

/** The example with one line changed (1-based line number). */
function editLine(n: number, edit: (line: string) => string): string {
  const lines = example.split('\n');
  lines[n - 1] = edit(lines[n - 1]!);
  return lines.join('\n');
}

const lineOf = (needle: string) => example.split('\n').findIndex((l) => l.includes(needle)) + 1;
// The example with its credentials in flow style, on one line (as in the field trial).
const flowCredentials = example.replace('    credentials:\n      secretName: fraud-detector-s3\n', '    credentials: {secretName: fraud-detector-s3}\n');

describe('a YAML syntax error is one diagnostic', () => {
  it('a line indented too far is reported at that line, once, with a count of the follow-on errors', () => {
    const n = lineOf('    size: 77246');
    const { problems } = fail(editLine(n, (l) => ` ${l}`));
    expect(problems).toHaveLength(1);
    const p = problems[0]!;
    expect(p).toMatchObject({ code: 'MODELPIN_E_SPEC_YAML', line: n, col: 6 });
    expect(p.message).toContain(`indented more than the key on line ${n - 1}`);
    expect(p.message).toMatch(/1 more YAML error after this one/);
    expect(p.hint).toContain('4 spaces');
  });

  it('a key indented too little keeps the library message, at the right line, once', () => {
    const n = lineOf('    batching:');
    const { problems } = fail(editLine(n, (l) => l.slice(1)));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'MODELPIN_E_SPEC_YAML', line: n, col: 4 });
    expect(problems[0]!.message).toMatch(/same column.*\(2 more YAML errors after this one/);
  });

  it('a stray } gives one problem at the brace', () => {
    const n = lineOf('    credentials:');
    const { problems } = fail(flowCredentials.replace('credentials: {secretName: fraud-detector-s3}', 'credentials: {secretName: fraud-detector-s3}}'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: n, col: 49 });
    expect(problems[0]!.message).toMatch(/^Unexpected flow-map-end token in YAML stream: "\}" \(\d+ more YAML errors/);
  });
});

describe('no secret in a YAML syntax error', () => {
  // The two cases from the field trial: a stray } on the credentials line with a literal
  // AWS_SECRET_ACCESS_KEY after it, and an AKIA-shaped key on a broken line.
  const withSecretEnv = (value: string) =>
    flowCredentials
      .replace('{secretName: fraud-detector-s3}', '{secretName: fraud-detector-s3}}')
      .replace('      - name: AWS_REGION\n        value: eu-west-1', `      - {name: AWS_SECRET_ACCESS_KEY, value: ${value}}`);

  it.each([
    ['a stray } before a literal AWS_SECRET_ACCESS_KEY', withSecretEnv(SECRET)],
    ['a stray } before an AKIA key id', withSecretEnv(KEY_ID)],
    ['a secret right after the stray }', flowCredentials.replace('{secretName: fraud-detector-s3}', `{secretName: fraud-detector-s3}}\n${SECRET}`)],
    ['a key id in a custom tag', example.replace('    team: risk', `    team: !${KEY_ID} risk`)],
    ['a secret in a block scalar header', example.replace('    team: risk', `    team: |x${SECRET}\n      risk`)],
    ['a secret in a directive', `%${SECRET} x\n---\n${example}`],
  ])('%s', (_name, text) => {
    const { problems, output } = fail(text);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(KEY_ID);
    expect(output).not.toContain('wJalr');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.code).toBe('MODELPIN_E_SPEC_YAML');
    expect(problems[0]!.line).toBeGreaterThan(0);
  });

  it('quoted file text is repeated only when it is punctuation or a spec field name', () => {
    expect(redactYamlMessage(`Unexpected scalar token in YAML stream: "${SECRET}"`)).toBe('Unexpected scalar token in YAML stream: (text not shown)');
    expect(redactYamlMessage('Unexpected scalar token in YAML stream: "hunter2"')).toBe('Unexpected scalar token in YAML stream: (text not shown)');
    expect(redactYamlMessage('Unexpected flow-map-end token in YAML stream: "}"')).toBe('Unexpected flow-map-end token in YAML stream: "}"');
    expect(redactYamlMessage('Unexpected scalar token in YAML stream: "serving"')).toBe('Unexpected scalar token in YAML stream: "serving"');
    expect(redactYamlMessage(`Unresolved tag: !${KEY_ID}`)).toBe('Unresolved tag: (text not shown)');
    expect(redactYamlMessage('Invalid escape sequence \\q')).toBe('Invalid escape sequence \\q');
    expect(redactYamlMessage(`Invalid escape sequence \\x${SECRET.slice(0, 2)}`)).toBe('Invalid escape sequence (text not shown)');
    expect(redactYamlMessage(`The !${SECRET}! tag has no suffix`)).toBe('A tag has no suffix');
    // A message shape nobody listed still never carries a key id or user:password@.
    expect(redactYamlMessage(`Something new about ${KEY_ID}`)).not.toContain(KEY_ID);
    expect(redactYamlMessage('Something new about https://u:pw@host/x')).not.toContain('pw@');
  });
});

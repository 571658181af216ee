import { describe, expect, it } from 'vitest';
import { exitCodeFor, formatError, ModelpinError } from '../../src/errors.js';

describe('errors', () => {
  it('formats file:line:col, field path, code and fix', () => {
    const err = ModelpinError.fromProblems([
      { code: 'MODELPIN_E_SPEC_DIGEST', message: 'bad digest', file: 'modelpin.yaml', line: 7, col: 13, path: 'spec.model.digest', hint: 'run modelpin lock' },
      { code: 'MODELPIN_E_SPEC_INVALID', message: 'replicas must be >= 0', path: 'spec.replicas' },
    ]);
    expect(err.code).toBe('MODELPIN_E_SPEC_DIGEST');
    expect(formatError(err)).toBe(
      'modelpin.yaml:7:13 (spec.model.digest): MODELPIN_E_SPEC_DIGEST: bad digest\n  fix: run modelpin lock\n' +
        'spec.replicas: MODELPIN_E_SPEC_INVALID: replicas must be >= 0',
    );
  });

  it('maps codes to exit statuses', () => {
    expect(exitCodeFor('MODELPIN_E_USAGE')).toBe(2);
    expect(exitCodeFor('MODELPIN_E_SPEC_INVALID')).toBe(1);
    expect(exitCodeFor('MODELPIN_E_INTERNAL')).toBe(70);
  });
});

// Client of test/rollouts-eval, the Go harness that runs Argo Rollouts' own code on a rendered
// AnalysisTemplate (see its main.go). One process per call; cases in, verdicts out, JSON Lines.
import { spawn } from 'node:child_process';
import { rolloutsEvalBinary } from '../../tools/rollouts-eval.mjs';

export interface Arg {
  name: string;
  value: string;
}

export type Mode = 'resolve' | 'evaluate' | 'run';

export interface Case {
  mode: Mode;
  template: Record<string, unknown>;
  args: Arg[];
  /** evaluate: metric name → Prometheus result values as text ("NaN" allowed). */
  results?: Record<string, string[]>;
}

export interface Verdict {
  metric: string;
  /** Successful | Failed | Inconclusive | Error; empty in resolve mode. */
  phase: string;
  value?: string;
  message?: string;
  query?: string;
  successCondition?: string;
  failureCondition?: string;
}

/** The harness binary (built and cached on first use; a cold build takes minutes). */
export function harness(): string {
  return rolloutsEvalBinary();
}

export async function judge(cases: Case[]): Promise<Verdict[][]> {
  const child = spawn(harness(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<number | null>((resolve) => child.once('close', resolve));
  child.stdin.end(cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const code = await done;
  if (code !== 0) throw new Error(`rollouts-eval exited ${code}:\n${err}`);
  const lines = out.trim().split('\n');
  if (lines.length !== cases.length) throw new Error(`rollouts-eval answered ${lines.length} lines for ${cases.length} cases:\n${out}\n${err}`);
  return lines.map((l, i) => {
    const o = JSON.parse(l) as { metrics?: Verdict[]; error?: string };
    if (o.error !== undefined) throw new Error(`rollouts-eval, case ${i} (${cases[i]!.mode}): ${o.error}`);
    return o.metrics ?? [];
  });
}

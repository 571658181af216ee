// Types of rollouts-eval.mjs (a plain script so that .ci/run can run it with node alone).
export declare const HARNESS_DIR: string;
export declare function harnessKey(): string;
export declare function rolloutsEvalPath(env?: NodeJS.ProcessEnv): string;
export declare function rolloutsEvalBinary(env?: NodeJS.ProcessEnv): string;

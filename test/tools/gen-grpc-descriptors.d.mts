// Types for gen-grpc-descriptors.mjs (imported by the descriptor freshness test).
export const OUT: string;
export const FILES: readonly (readonly [string, string])[];
export function generate(): string;

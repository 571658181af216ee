// Run the built CLI (`node dist/modelpin.js serve ...`) as a child process and follow its
// structured log lines: the "listening" line gives the bound port (tests use --port 0), the
// "ready" line says the model is verified, loaded and warmed up.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../../dist/modelpin.js');

export interface ServeProcess {
  child: ChildProcess;
  port: Promise<number>;
  /** The gRPC port from its "listening" line (when the test turned gRPC on). */
  grpcPort: Promise<number>;
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs(): { msg: string; [k: string]: unknown }[];
  stderr(): string;
}

/**
 * Spawn `node dist/modelpin.js <args>` (or `launcher` + args, e.g. an image's `modelpin` on PATH);
 * resolves port/ready from its structured log lines.
 */
export function spawnServe(args: string[], env: Record<string, string> = {}, launcher: string[] = [process.execPath, CLI]): ServeProcess {
  if (launcher[1] === CLI && !existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run test:integration does)`);
  // gRPC's default port (8081) would collide between servers running at once: off unless the
  // test asks for it (--grpc-port or MODELPIN_GRPC_PORT).
  if (args[0] === 'serve' && !args.includes('--grpc-port') && env.MODELPIN_GRPC_PORT === undefined) args = [...args, '--grpc-port', '0'];
  const child = spawn(launcher[0]!, [...launcher.slice(1), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const lines: { msg: string }[] = [];
  let onPort!: (p: number) => void;
  let onGrpcPort!: (p: number) => void;
  const grpcPort = new Promise<number>((r) => (onGrpcPort = r));
  let onReady!: () => void;
  let onFail!: (e: Error) => void;
  const port = new Promise<number>((r, j) => ((onPort = r), (onFail = j)));
  const ready = new Promise<void>((r, j) => {
    onReady = r;
    const prev = onFail;
    onFail = (e) => (prev(e), j(e));
  });
  port.catch(() => {});
  ready.catch(() => {});
  let buf = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const j = JSON.parse(line) as { msg: string; port?: number };
        lines.push(j);
        if (j.msg === 'listening' && (j as { protocol?: string }).protocol !== 'grpc') onPort(j.port!);
        if (j.msg === 'listening' && (j as { protocol?: string }).protocol === 'grpc') onGrpcPort(j.port!);
        if (j.msg === 'ready') onReady();
      } catch {
        /* not a log line (e.g. the final error report) */
      }
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      onFail(new Error(`modelpin serve exited (${code ?? signal}) before it was ready:\n${err}`));
      resolve({ code, signal });
    }),
  );
  return { child, port, grpcPort, ready, exit, logs: () => lines as never, stderr: () => err };
}


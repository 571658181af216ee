// A real MLflow tracking server for integration tests: sqlite backend and a local artifact store
// served through the tracking server's artifact proxy (--serve-artifacts), on 127.0.0.1 and a free
// port. Start-up takes several seconds, so start it once per test file (beforeAll).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tools/net.js';

export function mlflowBin(): string {
  const candidates = [process.env.MODELPIN_MLFLOW_BIN, '/root/.cache/modelpin/venv-mlflow/bin/mlflow'].filter((c): c is string => !!c);
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(
    `MLflow is not installed: set MODELPIN_MLFLOW_BIN or install it into /root/.cache/modelpin/venv-mlflow ` +
      `(python3 -m venv /root/.cache/modelpin/venv-mlflow && /root/.cache/modelpin/venv-mlflow/bin/pip install mlflow). Tried: ${candidates.join(', ')}`,
  );
}


export interface MlflowServer {
  url: string;
  dir: string;
  /** POST (with body) or GET (query) against /api/2.0/mlflow/<endpoint>; throws on an MLflow error. */
  api<T = Record<string, unknown>>(endpoint: string, body?: Record<string, unknown>, query?: Record<string, string>): Promise<T>;
  /** A finished run with these metrics in a fresh experiment; returns the run id. */
  createRun(metrics: Record<string, number>): Promise<string>;
  /** PUT bytes into the artifact store through the proxy at `path` (relative to the artifact root). */
  uploadArtifact(path: string, bytes: Uint8Array): Promise<void>;
  /** Registered model + version with this source (and run); returns the version number. */
  registerVersion(name: string, source: string, opts?: { runId?: string; tags?: Record<string, string> }): Promise<string>;
  setAlias(name: string, alias: string, version: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startMlflow(): Promise<MlflowServer> {
  const bin = mlflowBin();
  const dir = await mkdtemp(join(tmpdir(), 'modelpin-mlflow-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    bin,
    [
      'server',
      '--backend-store-uri', `sqlite:///${dir}/mlflow.db`,
      '--artifacts-destination', `${dir}/artifacts`,
      '--serve-artifacts',
      '--host', '127.0.0.1',
      '--port', String(port),
      '--workers', '1',
    ],
    { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLFLOW_TRACKING_URI: '', MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' } },
  );
  const append = (b: Buffer) => {
    log = (log + b.toString()).slice(-8000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited: number | null | undefined;
  const exitedP = new Promise<void>((resolve) => child.once('exit', (code) => ((exited = code), resolve())));

  const stop = async () => {
    if (exited === undefined && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM'); // the whole group: uvicorn workers and job runners too
      } catch {
        /* already gone */
      }
      const killer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exitedP;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`mlflow server exited with ${exited} before becoming healthy:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mlflow server did not become healthy within 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }

  const api = async <T,>(endpoint: string, body?: Record<string, unknown>, query?: Record<string, string>): Promise<T> => {
    const qs = query ? `?${new URLSearchParams(query).toString()}` : '';
    const res = await fetch(`${url}/api/2.0/mlflow/${endpoint}${qs}`, {
      method: body ? 'POST' : 'GET',
      headers: body ? { 'content-type': 'application/json' } : {},
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as T & { error_code?: string; message?: string };
    if (!res.ok) throw new Error(`MLflow ${endpoint}: ${res.status} ${json.error_code}: ${json.message}`);
    return json;
  };
  let experiments = 0;
  return {
    url,
    dir,
    api,
    async createRun(metrics) {
      const { experiment_id } = await api<{ experiment_id: string }>('experiments/create', { name: `exp-${++experiments}-${Date.now()}` });
      const { run } = await api<{ run: { info: { run_id: string } } }>('runs/create', { experiment_id, start_time: 1 });
      const runId = run.info.run_id;
      for (const [key, value] of Object.entries(metrics)) {
        await api('runs/log-metric', { run_id: runId, key, value, timestamp: 1, step: 0 });
      }
      await api('runs/update', { run_id: runId, status: 'FINISHED', end_time: 2 });
      return runId;
    },
    async uploadArtifact(path, bytes) {
      const res = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${path}`, { method: 'PUT', body: bytes });
      if (!res.ok) throw new Error(`artifact upload ${path}: HTTP ${res.status} ${await res.text()}`);
    },
    async registerVersion(name, source, opts = {}) {
      await api('registered-models/create', { name }).catch((e: Error) => {
        if (!/RESOURCE_ALREADY_EXISTS/.test(e.message)) throw e;
      });
      const body: Record<string, unknown> = { name, source };
      if (opts.runId) body.run_id = opts.runId;
      if (opts.tags) body.tags = Object.entries(opts.tags).map(([key, value]) => ({ key, value }));
      const { model_version } = await api<{ model_version: { version: string } }>('model-versions/create', body);
      return model_version.version;
    },
    async setAlias(name, alias, version) {
      await api('registered-models/alias', { name, alias, version });
    },
    stop,
  };
}

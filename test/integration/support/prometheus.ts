// A real Prometheus server for integration tests, on 127.0.0.1 with a temp TSDB and a generated
// prometheus.yml whose static targets carry the labels a scrape job would give them (e.g. those
// a PodMonitor's generated relabelling produces), since there is no Kubernetes to discover pods.
//
//   const prom = await startPrometheus({ scrapeInterval: '1s', jobs: [{ name, metricsPath, targets: [{ address, labels }] }] });
//   await prom.waitForTargetsUp(2);
//   const { result } = await prom.query('up');   // the HTTP API's data (resultType + result)
//   await prom.stop();
//
// Binary: env MODELPIN_PROMETHEUS_BIN, else ~/.cache/modelpin/bin/prometheus (.ci/run builds it
// there), else `prometheus` on PATH.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../tools/net.js';

export interface ScrapeJob {
  name: string;
  metricsPath: string;
  targets: { address: string; labels: Record<string, string> }[];
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Instant query through /api/v1/query; throws on an API error. */
  query(q: string): Promise<{ resultType: string; result: Sample[] }>;
  /** Poll /api/v1/targets until `n` active targets are up (bounded by timeoutMs). */
  waitForTargetsUp(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function findPrometheusBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MODELPIN_PROMETHEUS_BIN) {
    if (!existsSync(env.MODELPIN_PROMETHEUS_BIN)) throw new Error(`MODELPIN_PROMETHEUS_BIN=${env.MODELPIN_PROMETHEUS_BIN} does not exist`);
    return env.MODELPIN_PROMETHEUS_BIN;
  }
  const cached = join(env.MODELPIN_CI_CACHE || join(homedir(), '.cache', 'modelpin'), 'bin', 'prometheus');
  if (existsSync(cached)) return cached;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'prometheus');
    if (dir && existsSync(p)) return p;
  }
  throw new Error(
    `Prometheus binary not found: set MODELPIN_PROMETHEUS_BIN, or build it into ${cached} (.ci/run's install_prometheus: \`GOBIN=<dir> go install github.com/prometheus/prometheus/cmd/prometheus@<version>\`), or put \`prometheus\` on PATH`,
  );
}

export async function startPrometheus(opts: { scrapeInterval: string; jobs: ScrapeJob[]; timeoutMs?: number }): Promise<PrometheusServer> {
  const bin = findPrometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'modelpin-prometheus-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // JSON is YAML: no YAML library needed to write the config.
  const config = {
    global: { scrape_interval: opts.scrapeInterval, scrape_timeout: opts.scrapeInterval, evaluation_interval: opts.scrapeInterval },
    scrape_configs: opts.jobs.map((j) => ({
      job_name: j.name,
      metrics_path: j.metricsPath,
      static_configs: j.targets.map((t) => ({ targets: [t.address], labels: t.labels })),
    })),
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const child = spawn(
    bin,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${stderr}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus at ${url} not ready after ${opts.timeoutMs ?? 60_000} ms:\n${stderr}`);
    }
    await sleep(100);
  }

  const query = async (q: string) => {
    const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: q }) });
    const body = (await res.json()) as { status: string; data?: { resultType: string; result: Sample[] }; error?: string };
    if (body.status !== 'success' || !body.data) throw new Error(`query failed (${res.status}): ${body.error ?? JSON.stringify(body)}\n${q}`);
    return body.data;
  };

  const waitForTargetsUp = async (n: number, timeoutMs = 30_000) => {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const body = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as {
        data: { activeTargets: { health: string; scrapeUrl: string; lastError: string }[] };
      };
      const targets = body.data.activeTargets;
      if (targets.filter((t) => t.health === 'up').length >= n) return;
      last = JSON.stringify(targets.map((t) => [t.scrapeUrl, t.health, t.lastError]));
      if (Date.now() > end) throw new Error(`fewer than ${n} Prometheus targets up after ${timeoutMs} ms: ${last}`);
      await sleep(200);
    }
  };

  return { url, query, waitForTargetsUp, stop };
}

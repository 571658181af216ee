// The V2 (Open Inference Protocol) REST server on node:http. No framework: the hot path is one
// string comparison for the route, one body read, decode → queue → encode, one write.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { Batcher, type BatcherOptions } from './batcher.js';
import { decodeRequest, encodeResponse, HttpError } from './codec.js';
import type { ServeMetrics } from './metrics.js';
import { v2Metadata, type LoadedModel } from './model.js';

export interface ServerOptions {
  name: string;
  version?: string;
  maxBodyBytes: number;
  batch: Omit<BatcherOptions, 'batching'>;
  metrics: ServeMetrics;
  log: Logger;
  serverVersion?: string;
}

type State = 'starting' | 'ready' | 'draining';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/**
 * Content-Length and Inference-Header-Content-Length from rawHeaders: `req.headers` is built on
 * first access, an object per request the infer path otherwise never needs. Repeated headers are
 * joined with ", " as Node does, so a conflicting repeat fails the number check.
 */
function bodyHeaders(raw: string[]): [string | undefined, string | undefined] {
  let length: string | undefined;
  let header: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') length = length === undefined ? raw[i + 1] : `${length}, ${raw[i + 1]}`;
    else if (name.length === 31 && name.toLowerCase() === 'inference-header-content-length') header = header === undefined ? raw[i + 1] : `${header}, ${raw[i + 1]}`;
  }
  return [length, header];
}

export class InferenceServer {
  readonly http: http.Server;
  private state: State = 'starting';
  private stateDetail = 'fetching and verifying the model artifact';
  private model: LoadedModel | undefined;
  private batcher: Batcher | undefined;
  private digest = '';
  private batching = false;
  private batchingReason: string | undefined;
  private inflight = 0;
  /** Request body bytes held (being read, queued or running): bounded so memory is bounded. */
  private heldBytes = 0;
  private readonly maxHeldBytes: number;
  private idleWaiters: (() => void)[] = [];
  private responseHead = '';
  private decodeOpts = { batching: false };
  private readonly paths: { model: string[]; ready: string[]; infer: string[] };

  constructor(private readonly opts: ServerOptions) {
    // Room for a few maximal bodies, and at least 256 MiB for many small ones.
    this.maxHeldBytes = Math.max(4 * opts.maxBodyBytes, 256 * 1024 * 1024);
    const base = `/v2/models/${encodeURIComponent(opts.name)}`;
    const bases = opts.version === undefined ? [base] : [base, `${base}/versions/${encodeURIComponent(opts.version)}`];
    this.paths = { model: bases, ready: bases.map((b) => b + '/ready'), infer: bases.map((b) => b + '/infer') };
    this.http = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.route(req, res));
    // Bound what one connection can make us hold: headers, slow bodies.
    this.http.headersTimeout = 30_000;
    this.http.requestTimeout = 120_000;
  }

  async listen(port: number, host?: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    return (this.http.address() as AddressInfo).port;
  }

  setStartingDetail(detail: string): void {
    this.stateDetail = detail;
  }

  /** Start serving a loaded, verified, warmed-up model. */
  setReady(model: LoadedModel, digest: string): void {
    const { batch, metrics, log, name, version } = this.opts;
    this.model = model;
    this.digest = digest;
    this.batching = batch.maxBatchSize > 1 && model.batchable.enabled;
    this.decodeOpts = { batching: this.batching };
    this.batchingReason = batch.maxBatchSize <= 1 ? '--max-batch-size is 1' : model.batchable.reason;
    this.batcher = new Batcher(model, { ...batch, batching: this.batching }, (rows, secs) => {
      metrics.batchSize.observe(rows);
      metrics.computeDuration.observe(secs);
    });
    this.responseHead =
      `{"model_name":${JSON.stringify(name)}` + (version === undefined ? '' : `,"model_version":${JSON.stringify(version)}`);
    if (this.batching) log.info('dynamic batching on', { maxBatchSize: batch.maxBatchSize, maxBatchDelayMs: batch.maxBatchDelayMs });
    else log.info('dynamic batching off for this model', { reason: this.batchingReason });
    metrics.setModelInfo(digest);
    metrics.ready.set(1);
    this.state = 'ready';
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /**
   * SIGTERM: not ready any more; keep answering for `delayMs` while Kubernetes takes the pod out
   * of the Service's endpoints (requests routed here meanwhile still succeed, with
   * `Connection: close`); then stop accepting connections and finish in-flight requests.
   * `timeoutMs` bounds the whole drain, delay included.
   */
  async drain(timeoutMs: number, delayMs = 0): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    this.state = 'draining';
    this.stateDetail = 'shutting down';
    this.opts.metrics.ready.set(0);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, Math.min(delayMs, timeoutMs)));
    timeoutMs = Math.max(0, deadline - performance.now());
    this.http.close();
    this.http.closeIdleConnections();
    const drained = await new Promise<boolean>((resolve) => {
      if (this.inflight === 0) return resolve(true);
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
    this.http.closeAllConnections();
    return drained;
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    let url = req.url ?? '/';
    const q = url.indexOf('?');
    if (q >= 0) url = url.slice(0, q);
    if (req.method === 'POST') {
      if (url === this.paths.infer[0] || url === this.paths.infer[1]) return this.infer(req, res);
      if (url.startsWith('/v2/models/') && url.endsWith('/infer')) return this.unknownModel(url, res);
      return this.send(res, url.startsWith('/v2') || url === '/metrics' ? 405 : 404, { error: `no route for POST ${url}` });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.send(res, 405, { error: `method ${req.method} is not allowed on ${url}` });
    }
    switch (url) {
      case '/v2/health/live':
        return this.send(res, 200, { live: true });
      case '/v2/health/ready':
        return this.isReady ? this.send(res, 200, { ready: true }) : this.send(res, 503, { ready: false, error: `not ready: ${this.stateDetail}` });
      case '/v2':
        return this.send(res, 200, { name: 'modelpin', version: this.opts.serverVersion ?? '0.1.0', extensions: ['binary_tensor_data'] });
      case '/metrics':
        return void this.metrics(res);
    }
    if (url === this.paths.ready[0] || url === this.paths.ready[1]) {
      const body = { name: this.opts.name, ready: this.isReady };
      return this.isReady ? this.send(res, 200, body) : this.send(res, 503, { ...body, error: `model '${this.opts.name}' is not ready: ${this.stateDetail}` });
    }
    if (url === this.paths.model[0] || url === this.paths.model[1]) return this.metadata(res);
    if (url === this.paths.infer[0] || url === this.paths.infer[1]) return this.send(res, 405, { error: `use POST for ${url}` });
    if (url.startsWith('/v2/models/')) return this.unknownModel(url, res);
    return this.send(res, 404, { error: `no route for GET ${url}` });
  }

  private unknownModel(url: string, res: http.ServerResponse): void {
    const rest = url.slice('/v2/models/'.length).split('/');
    const name = decodeURIComponent(rest[0] ?? '');
    if (name !== this.opts.name) {
      return this.send(res, 404, { error: `unknown model '${name}'; this server serves '${this.opts.name}'` });
    }
    if (rest[1] === 'versions' && rest[2] !== undefined) {
      const v = decodeURIComponent(rest[2]);
      if (v !== this.opts.version) {
        return this.send(res, 404, {
          error:
            this.opts.version === undefined
              ? `unknown version '${v}' of model '${name}'; this server has no version configured (--model-version)`
              : `unknown version '${v}' of model '${name}'; this server serves version '${this.opts.version}'`,
        });
      }
    }
    return this.send(res, 404, { error: `no route for ${url}` });
  }

  private metadata(res: http.ServerResponse): void {
    const m = this.model;
    if (!m || this.state === 'starting') return this.send(res, 503, { error: `model '${this.opts.name}' is not ready: ${this.stateDetail}` });
    const { batch } = this.opts;
    this.send(res, 200, {
      name: this.opts.name,
      ...(this.opts.version === undefined ? {} : { versions: [this.opts.version] }),
      platform: 'onnxruntime_onnx',
      inputs: m.inputs.map(v2Metadata),
      outputs: m.outputs.map(v2Metadata),
      // Not in the V2 schema; extra fields are allowed and clients ignore them.
      parameters: {
        digest: this.digest,
        dynamic_batching: this.batching,
        ...(this.batching
          ? { max_batch_size: batch.maxBatchSize, max_batch_delay_ms: batch.maxBatchDelayMs }
          : { dynamic_batching_off_reason: this.batchingReason }),
      },
    });
  }

  private async metrics(res: http.ServerResponse): Promise<void> {
    const reg = this.opts.metrics.registry;
    const text = await reg.metrics();
    res.writeHead(200, { 'Content-Type': reg.contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private infer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const { metrics } = this.opts;
    this.inflight++;
    metrics.inflight.inc();
    let done = false;
    let held = 0;
    const finish = (status: number, body: string | Buffer, headers: http.OutgoingHttpHeaders) => {
      if (done) return;
      done = true;
      this.heldBytes -= held;
      if (this.state === 'draining') headers.Connection = 'close';
      res.writeHead(status, headers);
      res.end(body);
      if (status === 200) metrics.success.inc();
      else metrics.failure.inc();
      metrics.requestDuration.observe((performance.now() - started) / 1000);
      metrics.inflight.dec();
      if (--this.inflight === 0 && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
    };
    const fail = (err: unknown) => {
      const e =
        err instanceof HttpError ? err : new HttpError(500, `inference failed: ${err instanceof Error ? err.message : String(err)}`);
      if (e.status === 500) this.opts.log.error('inference failed', { error: e.message });
      const text = JSON.stringify({ error: e.message });
      const headers: http.OutgoingHttpHeaders = { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...e.headers };
      if (e.status === 413) headers.Connection = 'close';
      finish(e.status, text, headers);
    };
    if (this.state === 'starting' || !this.batcher || !this.model) {
      req.resume();
      return fail(new HttpError(503, `model '${this.opts.name}' is not ready: ${this.stateDetail}`));
    }
    // Refuse before reading the body: overload must be cheap to answer.
    if (this.batcher.depth >= this.opts.batch.maxQueue) {
      req.resume();
      return fail(
        new HttpError(503, `server overloaded: ${this.batcher.depth} requests already queued (--max-queue ${this.opts.batch.maxQueue}); retry later`, {
          'Retry-After': '1',
        }),
      );
    }
    const limit = this.opts.maxBodyBytes;
    const [contentLength, h] = bodyHeaders(req.rawHeaders);
    const declared = Number(contentLength);
    if (declared > limit) {
      fail(new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes (--max-body-bytes)`));
      req.destroy();
      return;
    }
    const overloaded = () =>
      new HttpError(503, `server overloaded: ${this.heldBytes} bytes of requests held (limit ${this.maxHeldBytes}); retry later`, { 'Retry-After': '1' });
    if (declared > 0 && this.heldBytes + declared > this.maxHeldBytes) {
      req.resume();
      return fail(overloaded());
    }
    let hdrLen: number | undefined;
    if (h !== undefined) {
      hdrLen = Number(h);
      if (!Number.isSafeInteger(hdrLen) || hdrLen < 0) {
        req.resume();
        return fail(new HttpError(400, `Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(h)}`));
      }
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      held += c.length;
      this.heldBytes += c.length;
      if (size > limit) {
        fail(new HttpError(413, `request body exceeds the limit of ${limit} bytes (--max-body-bytes)`));
        req.destroy();
        return;
      }
      if (this.heldBytes > this.maxHeldBytes) {
        fail(overloaded());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    // A client that goes away mid-upload must not leak its in-flight slot and held bytes: Node
    // destroys the request with an "aborted" error.
    req.on('error', () => {
      if (!done) fail(new HttpError(400, req.complete ? 'the request body could not be read' : 'the client closed the connection before sending the whole body'));
    });
    req.on('end', () => {
      if (done) return;
      const model = this.model!;
      let decoded;
      try {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        decoded = decodeRequest(body, model, hdrLen === undefined ? this.decodeOpts : { batching: this.batching, headerLength: hdrLen });
      } catch (err) {
        return fail(err);
      }
      this.batcher!.enqueue(decoded, (err, r) => {
        if (err) return fail(err);
        metrics.queueDuration.observe(r!.stats.queueSeconds);
        let enc;
        try {
          enc = encodeResponse(this.responseHead, model, decoded, r!.outputs);
        } catch (err) {
          return fail(err);
        }
        const headers: http.OutgoingHttpHeaders =
          enc.headerLength === undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(enc.body) }
            : {
                'Content-Type': 'application/octet-stream',
                'Content-Length': enc.body.length,
                'Inference-Header-Content-Length': enc.headerLength,
              };
        finish(200, enc.body, headers);
      });
    });
  }
}

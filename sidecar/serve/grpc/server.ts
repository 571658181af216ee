// The Open Inference Protocol over gRPC (@grpc/grpc-js): inference.GRPCInferenceService as KServe
// defines it plus Triton's ModelConfig, ModelStatistics and RepositoryIndex, the standard
// grpc.health.v1.Health service (SERVING only while ready) and server reflection. Only the wire
// lives here: every call goes through the same InferenceService as REST (admission, validation,
// the batching queue, metrics, drain), and every coded error leaves with its gRPC status from
// src/errors.ts WIRE_STATUS and the same message REST sends.
//
// Messages are (de)serialized here, not by grpc-js: grpc-js answers a message its deserializer
// throws on with INTERNAL, and a malformed request is the client's mistake (INVALID_ARGUMENT).
import * as grpc from '@grpc/grpc-js';
import { GRPC, isModelpinError, ModelpinError, wireStatus } from '../../../src/errors.js';
import { quoteName } from '../../../src/quote.js';
import type { Logger } from '../../log.js';
import type { InferenceService } from '../service.js';
import { decodeInferMessage, decodeInferTensors, encodeInferResponse, type InferRequestMsg, type ResponseHead } from './codec.js';
import { decode, encode, T } from './messages.js';
import { reflect } from './reflection.js';

export interface GrpcOptions {
  service: InferenceService;
  /** Largest request message (--max-body-bytes, as for REST bodies). */
  maxMessageBytes: number;
  log: Logger;
  accessLog: boolean;
}

const SERVICE = 'inference.GRPCInferenceService';
/** Health.Check service names this server answers for ('' is the whole server). */
const HEALTH_SERVICES = new Set(['', SERVICE]);
const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration'];
const SERVING = 1;
const NOT_SERVING = 2;
const SERVICE_UNKNOWN = 3;

const identity = (b: Buffer): Buffer => b;
function method(path: string, requestStream = false, responseStream = false): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream, responseStream, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

type Unary = (req: Buffer, done: (err: unknown, res?: Buffer) => void) => void;

export class GrpcServer {
  readonly server: grpc.Server;
  private readonly head: ResponseHead;
  private readonly watchers = new Set<{ call: grpc.ServerWritableStream<Buffer, Buffer>; service: string; last: number }>();
  private closing = false;

  constructor(private readonly opts: GrpcOptions) {
    const svc = opts.service;
    // grpc-js writes its own diagnostics (e.g. each failed bind) to stderr as plain text; the
    // sidecar's stderr is JSON lines, so they go through the log instead.
    grpc.setLogger({
      error: (...a: unknown[]) => opts.log.warn('grpc-js', { detail: a.map(String).join(' ') }),
      info: (...a: unknown[]) => opts.log.debug('grpc-js', { detail: a.map(String).join(' ') }),
      debug: (...a: unknown[]) => opts.log.debug('grpc-js', { detail: a.map(String).join(' ') }),
    } as unknown as Console);
    this.head = { model_name: svc.name, model_version: svc.version ?? '' };
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      // grpc-js reads a whole message before any handler sees it, so the held-bytes bound counts
      // gRPC bytes only then: what one connection can make us buffer is bounded by this many
      // calls at once (clients queue the rest) × the message limit.
      'grpc.max_concurrent_streams': 128,
      // ('grpc.enable_channelz' stays on: without it grpc-js's forceShutdown() does not find the
      // open connections, which it tracks only for channelz, and the drain bound could not drop them.)
    });
    const unary: Record<string, Unary> = {
      ServerLive: (_, done) => done(null, encode(T.ServerLiveResponse, { live: true })),
      ServerReady: (_, done) => done(null, encode(T.ServerReadyResponse, { ready: svc.isReady })),
      ModelReady: (b, done) => {
        this.modelRequest(b, T.ModelReadyRequest);
        done(null, encode(T.ModelReadyResponse, { ready: svc.isReady }));
      },
      ServerMetadata: (_, done) => done(null, encode(T.ServerMetadataResponse, { name: 'modelpin', version: svc.opts.serverVersion, extensions: EXTENSIONS })),
      ModelMetadata: (b, done) => {
        this.modelRequest(b, T.ModelMetadataRequest);
        const m = svc.metadata() as { name: string; versions?: string[]; platform: string; inputs: unknown[]; outputs: unknown[] };
        done(null, encode(T.ModelMetadataResponse, { name: m.name, versions: m.versions ?? [], platform: m.platform, inputs: m.inputs, outputs: m.outputs }));
      },
      ModelInfer: (b, done) => this.infer(b, done),
      ModelConfig: (b, done) => {
        this.modelRequest(b, T.ModelConfigRequest);
        done(null, encode(T.ModelConfigResponse, { config: tritonConfig(svc.config()) }));
      },
      ModelStatistics: (b, done) => {
        const r = decodeOrInvalid<{ name: string; version: string }>(T.ModelStatisticsRequest, b);
        // Triton: an empty name asks for every model.
        if (r.name !== '' || r.version !== '') svc.checkModel(r.name, r.version || undefined);
        done(null, encode(T.ModelStatisticsResponse, svc.statistics()));
      },
      RepositoryIndex: (b, done) => {
        const r = decodeOrInvalid<{ ready: boolean }>(T.RepositoryIndexRequest, b);
        const entry = { name: svc.name, version: svc.version ?? '', state: svc.isReady ? 'READY' : 'UNAVAILABLE', reason: svc.isReady ? '' : (svc.notReadyReason() ?? '') };
        done(null, encode(T.RepositoryIndexResponse, { models: r.ready && !svc.isReady ? [] : [entry] }));
      },
    };
    const defs: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const impls: grpc.UntypedServiceImplementation = {};
    for (const [name, fn] of Object.entries(unary)) {
      defs[name] = method(`/${SERVICE}/${name}`);
      impls[name] = this.wrap(defs[name].path, fn);
    }
    this.server.addService(defs, impls);
    this.server.addService(
      { Check: method('/grpc.health.v1.Health/Check'), Watch: method('/grpc.health.v1.Health/Watch', false, true) },
      {
        Check: this.wrap('/grpc.health.v1.Health/Check', (b, done) => {
          const { service } = decodeOrInvalid<{ service: string }>(T.HealthCheckRequest, b);
          if (!HEALTH_SERVICES.has(service)) throw new ModelpinError('MODELPIN_E_NOT_FOUND', `unknown service ${quoteName(service)}; this server reports health for '' (the server) and '${SERVICE}'`);
          done(null, encode(T.HealthCheckResponse, { status: this.healthOf(service) }));
        }),
        Watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => this.watch(call),
      },
    );
    for (const pkg of ['grpc.reflection.v1', 'grpc.reflection.v1alpha']) {
      const path = `/${pkg}.ServerReflection/ServerReflectionInfo`;
      this.server.addService({ ServerReflectionInfo: method(path, true, true) }, { ServerReflectionInfo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.reflection(call) });
    }
  }

  /** Bind like REST: `host`, or every interface (dual-stack `::`, or 0.0.0.0 where the host has no IPv6). */
  async listen(port: number, host?: string): Promise<number> {
    const bind = (where: string) =>
      new Promise<number>((resolve, reject) => this.server.bindAsync(where, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
    try {
      if (host !== undefined) return await bind(host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`);
      try {
        return await bind(`[::]:${port}`);
      } catch (err) {
        if (!/EAFNOSUPPORT|EADDRNOTAVAIL/.test((err as Error).message)) throw err;
        return await bind(`0.0.0.0:${port}`);
      }
    } catch (err) {
      throw listenError(err as Error, port, host);
    }
  }

  /** Readiness changed (ready, or draining): tell Health.Watch streams. */
  healthChanged(): void {
    for (const w of this.watchers) this.sendWatch(w);
  }

  /**
   * Stop accepting: GOAWAY to every connection (clients open no new calls here), Watch streams
   * end; calls in flight run to completion. Resolves once every connection has closed.
   */
  stopAccepting(): Promise<void> {
    this.closing = true;
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
    return new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  /**
   * After the drain: let the last answers (written, their trailers maybe not yet flushed) leave,
   * for at most `graceMs`, then drop whatever connection is left.
   */
  async close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const shut = this.closing ? new Promise<void>((r) => this.server.tryShutdown(() => r())) : this.stopAccepting();
    await Promise.race([shut, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.server.forceShutdown();
  }

  closeAll(): void {
    this.closing = true;
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
    this.server.forceShutdown();
  }

  // --- calls ---------------------------------------------------------------------------------

  /** A unary handler: no throw escapes (coded errors get their status, anything else INTERNAL and a log line). */
  private wrap(path: string, fn: Unary): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const started = this.opts.accessLog ? performance.now() : 0;
      let answered = false;
      const done = (err: unknown, res?: Buffer) => {
        if (answered) return;
        answered = true;
        if (err) {
          const status = this.statusOf(err, path);
          this.access(path, status.code!, started);
          callback(status);
        } else {
          this.access(path, 0, started);
          callback(null, res);
        }
      };
      try {
        fn(call.request, done);
      } catch (err) {
        done(err);
      }
    };
  }

  private statusOf(err: unknown, path: string): Partial<grpc.StatusObject> {
    if (!isModelpinError(err)) {
      this.opts.log.error('request failed unexpectedly', { path, protocol: 'grpc', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      return { code: GRPC.INTERNAL, details: 'internal error while handling the request (logged by the server)' };
    }
    return { code: wireStatus(err).grpc, details: err.message };
  }

  private access(path: string, code: number, started: number): void {
    if (!this.opts.accessLog) return;
    this.opts.log.info('request', { method: path, status: grpc.status[code] ?? code, durationMs: Math.round((performance.now() - started) * 100) / 100, protocol: 'grpc' });
  }

  /** Decode a {name, version} request and check it names this model (NOT_FOUND otherwise). */
  private modelRequest(b: Buffer, t: (typeof T)[keyof typeof T]): { name: string; version: string } {
    const r = decodeOrInvalid<{ name: string; version: string }>(t, b);
    this.opts.service.checkModel(r.name, r.version || undefined);
    return r;
  }

  /**
   * ModelInfer, in REST's order: the model named (NOT_FOUND, not admitted), admission
   * (UNAVAILABLE / RESOURCE_EXHAUSTED), then the request itself (INVALID_ARGUMENT), the queue.
   */
  private infer(bytes: Buffer, done: (err: unknown, res?: Buffer) => void): void {
    const svc = this.opts.service;
    const started = performance.now();
    let msg: InferRequestMsg | undefined;
    let malformed: unknown;
    try {
      msg = decodeInferMessage(bytes);
    } catch (err) {
      malformed = err;
    }
    if (msg) svc.checkModel(msg.model_name, msg.model_version || undefined);
    let held = 0;
    let settled = false;
    const finish = (err: unknown, res?: Buffer) => {
      if (settled) return;
      settled = true;
      svc.release(held);
      try {
        done(err, res);
      } finally {
        svc.settle(!err, started, 'grpc');
      }
    };
    try {
      svc.admit();
      if (malformed) throw malformed;
      held = bytes.length;
      svc.hold(held);
      const sig = svc.signature;
      if (!sig) throw svc.notReadyError();
      const decoded = decodeInferTensors(msg!, sig, svc.rules);
      const id = msg!.id;
      svc.infer(decoded.req, (e, r) => {
        if (e) return finish(this.logged(e));
        let out: Buffer;
        try {
          out = encodeInferResponse(this.head, id, sig, decoded, r!.outputs);
        } catch (x) {
          return finish(x);
        }
        finish(null, out);
      });
    } catch (err) {
      finish(err);
    }
  }

  private logged(err: unknown): unknown {
    if (isModelpinError(err) && err.code === 'MODELPIN_E_INFER_FAILED') this.opts.log.error('inference failed', { error: err.message, protocol: 'grpc' });
    return err;
  }

  // --- health --------------------------------------------------------------------------------

  private healthOf(service: string): number {
    if (!HEALTH_SERVICES.has(service)) return SERVICE_UNKNOWN;
    return this.opts.service.isReady ? SERVING : NOT_SERVING;
  }

  private watch(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
    let service: string;
    try {
      service = decode<{ service: string }>(T.HealthCheckRequest, call.request).service;
    } catch (err) {
      call.emit('error', { code: GRPC.INVALID_ARGUMENT, details: `not a HealthCheckRequest: ${(err as Error).message}` });
      return;
    }
    const w = { call, service, last: -1 };
    this.sendWatch(w);
    if (this.closing) return void call.end();
    this.watchers.add(w);
    call.on('cancelled', () => this.watchers.delete(w));
    call.on('close', () => this.watchers.delete(w));
  }

  private sendWatch(w: { call: grpc.ServerWritableStream<Buffer, Buffer>; service: string; last: number }): void {
    const status = this.healthOf(w.service);
    if (status === w.last) return;
    w.last = status;
    w.call.write(encode(T.HealthCheckResponse, { status }));
  }

  // --- reflection ----------------------------------------------------------------------------

  private reflection(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    call.on('data', (req: Buffer) => {
      try {
        call.write(reflect(req));
      } catch (err) {
        this.opts.log.error('reflection request failed unexpectedly', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        call.emit('error', { code: GRPC.INTERNAL, details: 'internal error while handling the request (logged by the server)' });
      }
    });
    call.on('end', () => call.end());
  }
}

function decodeOrInvalid<M>(t: (typeof T)[keyof typeof T], b: Buffer): M {
  try {
    return decode<M>(t, b);
  } catch (err) {
    throw new ModelpinError('MODELPIN_E_INFER_INVALID', `the request is not a valid ${t.name} message: ${(err as Error).message}`);
  }
}

/** InferenceService.config() (Triton's JSON shape) as the ModelConfig message. */
function tritonConfig(c: Record<string, unknown>): Record<string, unknown> {
  const policy = c.version_policy as { specific: { versions: string[] } } | undefined;
  // Triton's versions are integers; a version that is not one cannot be stated in this message.
  const versions = policy?.specific.versions.filter((v) => /^\d{1,15}$/.test(v)).map(Number) ?? [];
  const { version_policy: _, ...rest } = c;
  return versions.length > 0 ? { ...rest, version_policy: { specific: { versions } } } : rest;
}

/** A bind failure as the user error it is (as REST's, naming --grpc-port). */
function listenError(err: Error, port: number, host: string | undefined): Error {
  const where = `${host ?? '*'}:${port}`;
  const m = err.message;
  if (m.includes('EADDRINUSE')) {
    return new ModelpinError('MODELPIN_E_SERVE_CONFIG', `cannot listen for gRPC on ${where}: the port is already in use (EADDRINUSE)`, {
      hint: 'stop the process using it, or pick another --grpc-port (0 picks a free one; the "listening" log line says which)',
    });
  }
  if (m.includes('EACCES') || m.includes('EPERM')) {
    return new ModelpinError('MODELPIN_E_SERVE_CONFIG', `cannot listen for gRPC on ${where}: permission denied`, { hint: 'ports below 1024 need privileges; use a --grpc-port ≥ 1024' });
  }
  if (m.includes('EADDRNOTAVAIL') || m.includes('ENOTFOUND') || m.includes('EAI_AGAIN')) {
    return new ModelpinError('MODELPIN_E_SERVE_CONFIG', `cannot listen for gRPC on ${where}: the address is not available on this host`, {
      hint: 'pass --host with an address of this machine, or leave it unset for all interfaces',
    });
  }
  return new ModelpinError('MODELPIN_E_SERVE_CONFIG', `cannot listen for gRPC on ${where}: ${m}`, { hint: 'check --host and --grpc-port' });
}


// A small gRPC client for the serve tests: @grpc/grpc-js on the wire, messages from the .proto
// files parsed here with protobufjs (not from the server's generated descriptor), so a mistake
// in the generated module cannot hide itself.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { repoRoot } from '../../../tools/repo-root.js';

const dir = join(repoRoot(), 'sidecar/serve/grpc');
export const proto = new protobuf.Root();
for (const f of ['inference.proto', 'health.proto', 'reflection.proto']) protobuf.parse(readFileSync(join(dir, f), 'utf8'), proto, { keepCase: true });
proto.resolveAll();

export const msg = (name: string): protobuf.Type => proto.lookupType(name);

export interface Answer {
  code: number;
  details: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body?: any;
}

const id = (b: Buffer) => b;

export class TestClient {
  readonly client: grpc.Client;
  constructor(port: number) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      // Fail fast when the server is gone instead of waiting for it.
      'grpc.enable_retries': 0,
    });
  }

  /** A unary call of `/inference.GRPCInferenceService/<rpc>` (or a full path) with `req` as `reqType`. */
  call(rpc: string, reqType: string, req: Record<string, unknown> | Buffer, resType?: string): Promise<Answer> {
    const path = rpc.startsWith('/') ? rpc : `/inference.GRPCInferenceService/${rpc}`;
    const bytes = Buffer.isBuffer(req) ? req : Buffer.from(msg(reqType).encode(msg(reqType).fromObject(req)).finish());
    const out = resType ?? reqType.replace(/Request$/, 'Response');
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(path, id, id, bytes, { deadline: Date.now() + 60_000 }, (err, res) => {
        if (err) return resolve({ code: err.code, details: err.details });
        const m = msg(out).decode(res!);
        resolve({ code: 0, details: '', body: msg(out).toObject(m, { longs: String, enums: String, defaults: true, bytes: Buffer as never }) });
      });
    });
  }

  infer(req: Record<string, unknown> | Buffer): Promise<Answer> {
    return this.call('ModelInfer', 'inference.ModelInferRequest', req);
  }

  /** Raw decoded ModelInferResponse (Longs as Long objects, bytes as Buffers). */
  inferRaw(req: Record<string, unknown>): Promise<{ code: number; details: string; res?: protobuf.Message & Record<string, never> }> {
    const t = msg('inference.ModelInferRequest');
    const bytes = Buffer.from(t.encode(t.fromObject(req)).finish());
    return new Promise((resolve) => {
      this.client.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', id, id, bytes, (err, res) => {
        if (err) return resolve({ code: err.code, details: err.details });
        resolve({ code: 0, details: '', res: msg('inference.ModelInferResponse').decode(res!) as never });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

export const STATUS = grpc.status;

// The protobuf message types of the gRPC services, loaded from the descriptor generated at build
// time (descriptors.generated.ts, from the .proto files beside this one), never from a .proto
// at run time. Field names are the .proto's own (snake_case), as on the wire.
//
// 64-bit integers decode as `Long` objects: INT64/UINT64 tensor contents must be exact over the
// whole range. protobufjs would otherwise pick `long` up only if it happens to be resolvable
// from where the bundle runs (it is in a checkout, not in the image), and fall back to lossy
// numbers; so it is set here, once, the same everywhere.
import Long from 'long';
import protobuf from 'protobufjs/light.js';
import { PROTO_JSON } from './descriptors.generated.js';

protobuf.util.Long = Long as unknown as protobuf.Constructor<Long>;
protobuf.configure();

const root = protobuf.Root.fromJSON(PROTO_JSON as protobuf.INamespace);

const type = (name: string): protobuf.Type => root.lookupType(name);

export const T = {
  ServerLiveResponse: type('inference.ServerLiveResponse'),
  ServerReadyResponse: type('inference.ServerReadyResponse'),
  ModelReadyRequest: type('inference.ModelReadyRequest'),
  ModelReadyResponse: type('inference.ModelReadyResponse'),
  ServerMetadataResponse: type('inference.ServerMetadataResponse'),
  ModelMetadataRequest: type('inference.ModelMetadataRequest'),
  ModelMetadataResponse: type('inference.ModelMetadataResponse'),
  ModelInferRequest: type('inference.ModelInferRequest'),
  ModelInferResponse: type('inference.ModelInferResponse'),
  ModelConfigRequest: type('inference.ModelConfigRequest'),
  ModelConfigResponse: type('inference.ModelConfigResponse'),
  ModelStatisticsRequest: type('inference.ModelStatisticsRequest'),
  ModelStatisticsResponse: type('inference.ModelStatisticsResponse'),
  RepositoryIndexRequest: type('inference.RepositoryIndexRequest'),
  RepositoryIndexResponse: type('inference.RepositoryIndexResponse'),
  HealthCheckRequest: type('grpc.health.v1.HealthCheckRequest'),
  HealthCheckResponse: type('grpc.health.v1.HealthCheckResponse'),
  ServerReflectionRequest: type('grpc.reflection.v1alpha.ServerReflectionRequest'),
  ServerReflectionResponse: type('grpc.reflection.v1alpha.ServerReflectionResponse'),
} as const;

/** Decode `bytes` as `t`; throws what protobufjs throws for malformed input. */
export function decode<M>(t: protobuf.Type, bytes: Uint8Array): M {
  return t.decode(bytes) as unknown as M;
}

/** Encode a plain object (enum names, numbers or Longs for 64-bit fields) as `t`. */
export function encode(t: protobuf.Type, obj: Record<string, unknown>): Buffer {
  const bytes = t.encode(t.fromObject(obj)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encode an object already in protobufjs's shape (numbers for enums, typed arrays allowed): no fromObject pass. */
export function encodeFast(t: protobuf.Type, obj: Record<string, unknown>): Buffer {
  const bytes = t.encode(obj).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export { Long };

// gRPC server reflection (grpc.reflection.v1 and v1alpha: the same messages), answered from the
// FileDescriptorProtos generated at build time, so grpcurl and similar tools can list, describe
// and call the services without a copy of the .proto files.
import { FILE_DESCRIPTORS } from './descriptors.generated.js';
import { decode, encode, T } from './messages.js';

interface ReflectionRequest {
  host: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  file_containing_extension?: { containing_type: string; extension_number: number };
  all_extension_numbers_of_type?: string;
  list_services?: string;
  message_request?: string;
}

/** The services a client may list (v1 answers too, but its descriptor is v1alpha's). */
export const LISTED_SERVICES = ['inference.GRPCInferenceService', 'grpc.health.v1.Health', 'grpc.reflection.v1alpha.ServerReflection'];

const FILES = FILE_DESCRIPTORS.map((f) => ({ ...f, bytes: Buffer.from(f.descriptor, 'base64'), symbolSet: new Set(f.symbols) }));
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** The answer to one ServerReflectionRequest (a bidirectional stream carries many). */
export function reflect(requestBytes: Uint8Array): Buffer {
  let req: ReflectionRequest;
  try {
    req = decode<ReflectionRequest>(T.ServerReflectionRequest, requestBytes);
  } catch (err) {
    return encode(T.ServerReflectionResponse, { error_response: { error_code: INVALID_ARGUMENT, error_message: `not a ServerReflectionRequest: ${(err as Error).message}` } });
  }
  const base = { valid_host: req.host, original_request: T.ServerReflectionRequest.toObject(req as never) };
  const files = (f: (typeof FILES)[number] | undefined, what: string) =>
    f
      ? encode(T.ServerReflectionResponse, { ...base, file_descriptor_response: { file_descriptor_proto: [f.bytes] } })
      : encode(T.ServerReflectionResponse, { ...base, error_response: { error_code: NOT_FOUND, error_message: `${what} not found` } });
  switch (req.message_request) {
    case 'list_services':
      return encode(T.ServerReflectionResponse, { ...base, list_services_response: { service: LISTED_SERVICES.map((name) => ({ name })) } });
    case 'file_by_filename':
      return files(
        FILES.find((f) => f.name === req.file_by_filename),
        `file ${JSON.stringify(req.file_by_filename)}`,
      );
    case 'file_containing_symbol': {
      const sym = (req.file_containing_symbol ?? '').replace(/^\./, '');
      return files(
        FILES.find((f) => f.symbolSet.has(sym)),
        `symbol ${JSON.stringify(sym)}`,
      );
    }
    case 'all_extension_numbers_of_type': {
      const sym = (req.all_extension_numbers_of_type ?? '').replace(/^\./, '');
      // proto3 messages have no extensions: a known type has none, an unknown one is not found.
      if (FILES.some((f) => f.symbolSet.has(sym))) {
        return encode(T.ServerReflectionResponse, { ...base, all_extension_numbers_response: { base_type_name: sym, extension_number: [] } });
      }
      return files(undefined, `type ${JSON.stringify(sym)}`);
    }
    case 'file_containing_extension':
      return files(undefined, 'extension');
    default:
      return encode(T.ServerReflectionResponse, { ...base, error_response: { error_code: INVALID_ARGUMENT, error_message: 'the request names no reflection query' } });
  }
}

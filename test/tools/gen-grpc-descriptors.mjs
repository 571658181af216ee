// Generates sidecar/serve/grpc/descriptors.generated.ts from the .proto files beside it, so the
// sidecar never reads a .proto at run time (the image carries dist/ only):
//   node test/tools/gen-grpc-descriptors.mjs          # write it
//   node test/tools/gen-grpc-descriptors.mjs --check  # exit 1 if it is stale
// The module holds (1) the protobufjs JSON form of all three packages, which the codec loads
// with protobufjs/light, and (2) one serialized google.protobuf.FileDescriptorProto per file,
// built here from the parsed protos the way protoc lays them out (fully qualified type names,
// `<Field>Entry` map types, oneof indices), which server reflection hands to grpcurl.
// test/unit/sidecar/serve/grpc-descriptors.test.ts keeps the generated file current, and
// test/integration/grpc-peers.test.ts compares these descriptors with protoc's and with those
// KServe's and Triton's Python packages ship.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'sidecar/serve/grpc');
export const OUT = join(dir, 'descriptors.generated.ts');
/** Source file → the name its FileDescriptorProto carries (what reflection clients see). */
export const FILES = [
  ['inference.proto', 'inference.proto'],
  ['health.proto', 'grpc/health/v1/health.proto'],
  ['reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'],
];

// google.protobuf.FieldDescriptorProto.Type
const TYPE = { double: 1, float: 2, int64: 3, uint64: 4, int32: 5, fixed64: 6, fixed32: 7, bool: 8, string: 9, bytes: 12, uint32: 13, sfixed32: 15, sfixed64: 16, sint32: 17, sint64: 18 };
const MESSAGE = 11;
const ENUM = 14;
const OPTIONAL = 1;
const REPEATED = 3;

const fq = (obj) => obj.fullName; // ".pkg.Name"
const pascal = (s) => s.replace(/(?:^|_)([a-z0-9])/g, (_, c) => c.toUpperCase());

function fieldType(f) {
  if (f.resolvedType instanceof protobuf.Enum) return { type: ENUM, typeName: fq(f.resolvedType) };
  if (f.resolvedType instanceof protobuf.Type) return { type: MESSAGE, typeName: fq(f.resolvedType) };
  const t = TYPE[f.type];
  if (t === undefined) throw new Error(`unsupported field type ${f.type} of ${f.fullName}`);
  return { type: t };
}

function enumProto(e) {
  return { name: e.name, value: Object.entries(e.values).map(([name, number]) => ({ name, number })) };
}

function messageProto(t) {
  const msg = { name: t.name, field: [], nestedType: [], enumType: [], oneofDecl: [] };
  // protoc's order, for this repository's style of declaring nested types before the fields:
  // declared nested types first, then one map entry type per map field.
  for (const n of t.nestedArray) {
    if (n instanceof protobuf.Type) msg.nestedType.push(messageProto(n));
    else if (n instanceof protobuf.Enum) msg.enumType.push(enumProto(n));
  }
  const oneofs = t.oneofsArray;
  for (const o of oneofs) msg.oneofDecl.push({ name: o.name });
  for (const f of t.fieldsArray) {
    if (f.map) {
      const entry = `${pascal(f.name)}Entry`;
      const key = { name: 'key', number: 1, label: OPTIONAL, type: TYPE[f.keyType] };
      const value = { name: 'value', number: 2, label: OPTIONAL, ...fieldType(f) };
      msg.nestedType.push({ name: entry, field: [key, value], options: { mapEntry: true } });
      msg.field.push({ name: f.name, number: f.id, label: REPEATED, type: MESSAGE, typeName: `${fq(t)}.${entry}` });
      continue;
    }
    const out = { name: f.name, number: f.id, label: f.repeated ? REPEATED : OPTIONAL, ...fieldType(f) };
    if (f.partOf) out.oneofIndex = oneofs.indexOf(f.partOf);
    msg.field.push(out);
  }
  return msg;
}

function symbolsOf(ns, out = []) {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type || n instanceof protobuf.Enum || n instanceof protobuf.Service) out.push(n.fullName.slice(1));
    if (n instanceof protobuf.Service) for (const m of n.methodsArray) out.push(m.fullName.slice(1));
    if (n instanceof protobuf.Namespace) symbolsOf(n, out);
  }
  return out;
}

/** The generated module's text. */
export function generate() {
  const all = new protobuf.Root();
  const files = [];
  for (const [src, name] of FILES) {
    const text = readFileSync(join(dir, src), 'utf8');
    const one = protobuf.parse(text, new protobuf.Root(), { keepCase: true }).root.resolveAll();
    protobuf.parse(text, all, { keepCase: true });
    const pkgName = /^package\s+([\w.]+)\s*;/m.exec(text)[1];
    const pkg = one.lookup(pkgName);
    const file = { name, package: pkgName, messageType: [], enumType: [], service: [], syntax: 'proto3' };
    for (const n of pkg.nestedArray) {
      if (n instanceof protobuf.Type) file.messageType.push(messageProto(n));
      else if (n instanceof protobuf.Enum) file.enumType.push(enumProto(n));
      else if (n instanceof protobuf.Service) {
        file.service.push({
          name: n.name,
          method: n.methodsArray.map((m) => ({
            name: m.name,
            inputType: fq(m.resolvedRequestType),
            outputType: fq(m.resolvedResponseType),
            ...(m.requestStream ? { clientStreaming: true } : {}),
            ...(m.responseStream ? { serverStreaming: true } : {}),
          })),
        });
      }
    }
    const bytes = descriptor.FileDescriptorProto.encode(descriptor.FileDescriptorProto.fromObject(file)).finish();
    files.push({ name, package: pkgName, symbols: symbolsOf(pkg).map((s) => s), descriptor: Buffer.from(bytes).toString('base64') });
  }
  all.resolveAll();
  return [
    '// Generated by test/tools/gen-grpc-descriptors.mjs from sidecar/serve/grpc/*.proto; do not edit.',
    '// Regenerate with: node test/tools/gen-grpc-descriptors.mjs',
    '',
    '/** The protobufjs JSON form of inference.proto, health.proto and reflection.proto (field names as in the .proto). */',
    `export const PROTO_JSON: unknown = ${JSON.stringify(all.toJSON({ keepComments: false }))};`,
    '',
    '/** Per .proto file: its serialized google.protobuf.FileDescriptorProto (base64) and the symbols it defines. */',
    `export const FILE_DESCRIPTORS: readonly { name: string; package: string; symbols: readonly string[]; descriptor: string }[] = ${JSON.stringify(files, null, 1)};`,
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = generate();
  if (process.argv.includes('--check')) {
    if (readFileSync(OUT, 'utf8') !== text) {
      console.error(`${OUT} is stale: run node test/tools/gen-grpc-descriptors.mjs`);
      process.exit(1);
    }
  } else {
    writeFileSync(OUT, text);
    console.error(`wrote ${OUT}`);
  }
}

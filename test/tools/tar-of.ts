// Raw tar streams for archive tests: headers written exactly as given (no normalisation), so
// hostile paths and link targets survive; PAX headers and GNU long names on request.
import { Header, Pax } from 'tar';

type EntryTypeName = NonNullable<ConstructorParameters<typeof Header>[0] extends infer T ? (T extends { type?: infer U } ? U : never) : never>;

export interface TarEntry {
  path: string;
  type?: EntryTypeName;
  body?: Buffer;
  linkpath?: string;
  /** Declared size (default: the body's). */
  size?: number;
  /** A PAX extended header before this entry (its path/linkpath override the header's). */
  pax?: { path?: string; linkpath?: string };
  /** A GNU long-name entry ('L' or 'K') before this entry. */
  gnuLong?: { path?: string; linkpath?: string };
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

function header(e: { path: string; type: EntryTypeName; size: number; linkpath?: string }): Buffer {
  const block = Buffer.alloc(512);
  new Header({
    path: e.path,
    mode: e.type === 'Directory' ? 0o755 : 0o644,
    size: e.size,
    type: e.type,
    ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
    mtime: new Date(0),
    uid: 0,
    gid: 0,
  }).encode(block, 0);
  return block;
}

export function tarOf(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) blocks.push(new Pax({ ...e.pax }).encode());
    for (const [key, type] of [
      ['path', 'NextFileHasLongPath'],
      ['linkpath', 'NextFileHasLongLinkpath'],
    ] as const) {
      const v = e.gnuLong?.[key];
      if (v === undefined) continue;
      const data = Buffer.from(`${v}\0`);
      blocks.push(header({ path: '././@LongLink', type, size: data.length }), data, pad(data.length));
    }
    const body = e.body ?? Buffer.alloc(0);
    blocks.push(header({ path: e.path, type: e.type ?? 'File', size: e.size ?? body.length, ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }) }));
    if (body.length > 0) blocks.push(body, pad(body.length));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

// SHA-256 of a file, streamed with constant memory (re-confirming a cache entry, tests).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function sha256File(path: string): Promise<{ hex: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.byteLength;
  }
  return { hex: h.digest('hex'), bytes };
}

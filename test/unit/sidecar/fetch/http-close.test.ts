// A server that closes the connection (`Connection: close`, then FIN or RST) while our reader is
// behind must give a complete body or a retryable error, never an uncaught exception. undici 7
// asserts in its socket 'end'/'error'/'close' handlers when the body is paused by backpressure at
// that moment (nodejs/undici#5360), which killed the process; resumeParserOnEnd in
// sources/http.ts guards it.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../sidecar/log.js';
import { httpSource } from '../../../../sidecar/sources/http.js';

const body = randomBytes(1024 * 1024);
let server: Server;
let port = 0;
/** Bytes of the body the server sends before FIN (the whole body, or a truncated one). */
let send = body.length;
/** End with a TCP reset instead of a FIN. */
let reset = false;

beforeAll(async () => {
  server = createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`);
      if (reset) sock.write(body.subarray(0, send), () => setTimeout(() => sock.resetAndDestroy(), 20));
      else sock.end(body.subarray(0, send));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

async function readLate(): Promise<{ bytes: number; error?: unknown }> {
  const src = httpSource(`http://127.0.0.1:${port}/m.onnx`, { env: {}, log: silentLogger });
  let bytes = 0;
  try {
    const opened = await src.open(0, new AbortController().signal);
    // A reader a little slower than the loopback: the body keeps hitting its high-water mark,
    // so the parser is paused at the moment the last bytes and the FIN arrive.
    for await (const c of opened.body) {
      bytes += c.byteLength;
      await new Promise((r) => setTimeout(r, 1));
    }
    return { bytes };
  } catch (error) {
    return { bytes, error };
  } finally {
    await src.close();
  }
}

describe('HTTP source: the server closes while the body is paused', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  beforeAll(() => void process.on('uncaughtException', onUncaught));
  afterAll(() => void process.off('uncaughtException', onUncaught));

  it('a complete body closed by the server is read completely, every time', async () => {
    send = body.length;
    reset = false;
    for (let i = 0; i < 8; i++) expect(await readLate()).toEqual({ bytes: body.length });
    expect(uncaught).toEqual([]);
  });

  it('a truncated body ends in an error the engine retries, never in an uncaught exception', async () => {
    send = body.length - 4096;
    reset = false;
    for (let i = 0; i < 8; i++) {
      const r = await readLate();
      expect(r.error).toBeDefined();
      expect(r.bytes).toBeLessThan(body.length);
    }
    expect(uncaught).toEqual([]);
  });

  it('a connection reset (RST) while the body is paused: an error, never an uncaught exception', async () => {
    send = body.length - 4096;
    reset = true;
    for (let i = 0; i < 8; i++) {
      const r = await readLate();
      expect(r.error).toBeDefined();
    }
    expect(uncaught).toEqual([]);
  });
});

// Writing the CLI's output straight to file descriptors 1 and 2.
//
// process.stdout and process.stderr are created on first use, and building them (a stream over a
// pipe, a file or a TTY) cost each `modelpin render` in Argo CD ~1.5 ms of its start-up, for one
// write of a few kilobytes. The repo-server reads the plugin's output through a blocking pipe, so a
// synchronous write is the natural fit; a descriptor some parent left non-blocking (EAGAIN) gets
// the rest through the stream, which waits for the pipe to drain.
import { writeSync } from 'node:fs';

export async function writeFd(fd: 1 | 2, text: string): Promise<void> {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
  }
  const stream = fd === 1 ? process.stdout : process.stderr;
  await new Promise<void>((resolve, reject) => stream.write(buf.subarray(off), (e) => (e ? reject(e) : resolve())));
}

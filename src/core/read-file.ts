// Reading a file Capsule was told to read (a module, a policy or system
// file) as a hostile author might have made it: only a regular file, and at
// most a known size. A device (/dev/zero), a FIFO or a symlink to one is
// refused at once instead of being read forever or waited on; a huge file is
// refused from its size, and never read past the limit even if it grows.

import fs from 'node:fs';
import { formatSize } from './units.js';

/** Why a file was not read, in words for a one-line message ("no such file", "not a regular file", ...). */
export class UnreadableFile extends Error {}

const why = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory'
    : code === 'ELOOP' ? 'too many symbolic links' : (err as Error).message;
};

/** Asynchronous, so that reading a large module never holds up the host thread (and every guest it serves). */
export async function readRegularFile(file: string | URL, maxBytes: number): Promise<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    // Non-blocking, so that opening a FIFO with no writer returns at once (and is then refused).
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new UnreadableFile(why(err));
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new UnreadableFile('it is a directory');
    if (!st.isFile()) throw new UnreadableFile('not a regular file (a device, FIFO or socket)');
    if (st.size > maxBytes) throw new UnreadableFile(`larger than ${formatSize(maxBytes)}`);
    // One byte more than the size it had tells a file that grew while being read.
    const buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > st.size) throw new UnreadableFile('it grew while being read');
    return buf.subarray(0, got);
  } catch (err) {
    if (err instanceof UnreadableFile) throw err;
    throw new UnreadableFile(why(err));
  } finally {
    await handle.close();
  }
}

/** Most a policy or system file may hold: far above any real one. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

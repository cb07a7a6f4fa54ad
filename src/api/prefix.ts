// Output of several guests on one stream: each line prefixed with the
// guest's name, whole lines only, so guests never interleave mid-line.
//
// Bounded both ways: a write is not done until `out` has taken it (a full
// `out` makes the guest's output pump wait, and so the guest, not its
// neighbours), and a line longer than MAX_LINE is cut into prefixed pieces
// rather than held whole.

import { Writable } from 'node:stream';

/** Longest partial line held back waiting for its newline (UTF-16 code units). */
export const MAX_LINE = 64 * 1024;

/** The error a write to a reader that has gone away gets, as a pipe would give it. */
function closedReader(): NodeJS.ErrnoException {
  return Object.assign(new Error('the reader of this output has gone away'), { code: 'EPIPE' });
}

/**
 * Resolves once `out` can take more: one 'drain' listener per stream, however
 * many guests wait on it; rejects with EPIPE if it closes or fails first.
 */
const waiting = new WeakMap<NodeJS.WritableStream, Promise<void>>();
function drained(out: NodeJS.WritableStream): Promise<void> {
  let p = waiting.get(out);
  if (p === undefined) {
    p = new Promise<void>((resolve, reject) => {
      const settle = (err?: Error): void => {
        out.off('drain', onDrain); out.off('close', onClose); out.off('error', onError);
        waiting.delete(out);
        if (err) reject(err); else resolve();
      };
      const onDrain = (): void => settle();
      const onClose = (): void => settle(closedReader());
      const onError = (err: NodeJS.ErrnoException): void => settle(err.code === 'EPIPE' ? err : closedReader());
      out.on('drain', onDrain); out.on('close', onClose); out.on('error', onError);
    });
    waiting.set(out, p);
  }
  return p;
}

function isClosed(out: NodeJS.WritableStream): boolean {
  const w = out as Partial<Writable>;
  return w.destroyed === true || w.writableEnded === true;
}

export function prefixedLines(prefix: string, out: NodeJS.WritableStream): Writable {
  let partial = '';
  const decoder = new TextDecoder();
  const send = (text: string, done: (err?: Error | null) => void): void => {
    if (isClosed(out)) { done(closedReader()); return; }
    if (text === '' || out.write(text)) { done(); return; }
    drained(out).then(() => done(), done);
  };
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
      partial = lines.pop()!;
      let text = lines.length ? lines.map((l) => `${prefix}${l}\n`).join('') : '';
      while (partial.length > MAX_LINE) {
        // Not inside a surrogate pair.
        const cut = /[\ud800-\udbff]/.test(partial[MAX_LINE - 1]!) ? MAX_LINE - 1 : MAX_LINE;
        text += `${prefix}${partial.slice(0, cut)}\n`;
        partial = partial.slice(cut);
      }
      send(text, done);
    },
    final(done) {
      const rest = partial + decoder.decode();
      partial = '';
      if (isClosed(out)) done();
      else send(rest ? `${prefix}${rest}\n` : '', done);
    },
  });
  // A reader gone away is not this process's failure: whoever writes here
  // (run()) hears of it and closes the guest's stream; nothing else need.
  stream.on('error', () => {});
  return stream;
}

// Output of several guests on one terminal: each line prefixed with the
// guest's name, whole lines only, so guests never interleave mid-line.

import { Writable } from 'node:stream';

export function prefixedLines(prefix: string, out: NodeJS.WritableStream): Writable {
  let partial = '';
  const decoder = new TextDecoder();
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = partial + decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      partial = lines.pop()!;
      if (lines.length) out.write(lines.map((l) => `${prefix}${l}\n`).join(''));
      done();
    },
    final(done) {
      const rest = partial + decoder.decode();
      if (rest) out.write(`${prefix}${rest}\n`);
      done();
    },
  });
}

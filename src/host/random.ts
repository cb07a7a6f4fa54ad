// Randomness for guests: the kernel's generator, read from /dev/urandom (as
// getrandom() gives it). Loading node:crypto in every enclave thread would
// cost tens of milliseconds of start-up for what is one read.

import fs from 'node:fs';

let urandom: number | undefined;

export function randomFill(buf: Uint8Array): void {
  urandom ??= fs.openSync('/dev/urandom', 'r');
  for (let done = 0; done < buf.byteLength;) {
    done += fs.readSync(urandom, buf, done, buf.byteLength - done, null);
  }
}

// Standard input of a resumed guest: first what it had not read when it was
// sealed, then the new process's input.

import type { Readiness } from '../layer/descriptor.js';
import type { StreamSource } from '../layer/stdio.js';

export class ResumedInput implements StreamSource {
  private at = 0;

  constructor(private readonly pending: Uint8Array, private readonly rest: StreamSource) {}

  read(buf: Uint8Array, nonblocking: boolean): number {
    if (this.at < this.pending.byteLength) {
      const n = Math.min(buf.byteLength, this.pending.byteLength - this.at);
      buf.set(this.pending.subarray(this.at, this.at + n));
      this.at += n;
      if (this.at === this.pending.byteLength) this.pending.fill(0);
      return n;
    }
    return this.rest.read(buf, nonblocking);
  }

  readiness(): Readiness {
    const left = this.pending.byteLength - this.at;
    return left > 0 ? { ready: true, nbytes: BigInt(left), hangup: false } : this.rest.readiness();
  }
}

// A mount's quota: how far the guest may grow what lies below one mount
// while it runs. Bytes count the growth of file sizes its writes cause
// (every byte written past what a descriptor knows as the file's end, every
// truncate or allocate that makes a file longer); entries count the files,
// directories and symlinks it creates (and the hard links it makes). Past
// either, the call fails with EDQUOT and the audit log says which limit.
//
// Nothing is given back: deleting or shrinking a file does not free quota.
// That keeps the rule simple and sound (the sizes of a mount's files never
// add up to more than what was there at the start plus what was charged),
// at the price of a guest that rewrites its files from scratch running out
// sooner than the disk would.

import { Denial, Errno } from '../../core/errno.js';
import type { QuotaLimits } from '../../policy/policy.js';

export type { QuotaLimits };

export class MountQuota {
  bytesUsed = 0;
  entriesUsed = 0;

  constructor(readonly limits: QuotaLimits, readonly mount: string) {}

  /** Charges `n` bytes of growth; EDQUOT (nothing charged) when that would pass the byte quota. */
  chargeBytes(n: number, target?: string): void {
    if (n <= 0) return;
    const max = this.limits.bytes;
    if (max !== undefined && this.bytesUsed + n > max) {
      throw new Denial(Errno.DQUOT, 'limit', `the byte quota of the mount ${this.mount} (${max} bytes) is used up`, target);
    }
    this.bytesUsed += n;
  }

  /** Charges one new entry; EDQUOT when that would pass the entry quota. */
  takeEntry(target?: string): void {
    const max = this.limits.entries;
    if (max !== undefined && this.entriesUsed + 1 > max) {
      throw new Denial(Errno.DQUOT, 'limit', `the entry quota of the mount ${this.mount} (${max} files and directories) is used up`, target);
    }
    this.entriesUsed++;
  }

  /** Gives back an entry charged for a creation that then failed. */
  returnEntry(): void {
    this.entriesUsed--;
  }
}

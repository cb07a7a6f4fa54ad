// The guest's descriptor table: small integers to Descriptors, with a
// capacity (EMFILE past it) and typed lookups that check rights.

import { Denial, Errno, SysError } from '../core/errno.js';
import { refuseRights, type Descriptor } from './descriptor.js';

/** Default bound on open descriptors per guest; a policy may lower or raise it. */
export const DEFAULT_MAX_FDS = 1024;

export class FdTable {
  private readonly slots: (Descriptor | undefined)[] = [];
  private count = 0;

  constructor(readonly capacity = DEFAULT_MAX_FDS) {}

  get size(): number {
    return this.count;
  }

  /** Looks a descriptor up; EBADF if absent, ENOTCAPABLE if it lacks `rights`. */
  get(fd: number, rights = 0): Descriptor {
    const d = this.slots[fd];
    if (d === undefined) throw new SysError(Errno.BADF);
    if ((d.rightsBase & rights) !== rights) refuseRights(d, rights);
    return d;
  }

  /** Like get() but without any rights check, for operations that have none. */
  peek(fd: number): Descriptor | undefined {
    return this.slots[fd];
  }

  /** Throws the descriptor-limit denial if no slot is free. */
  ensureRoom(): void {
    if (this.count >= this.capacity) {
      throw new Denial(Errno.MFILE, 'limit', `descriptor limit of ${this.capacity} reached (--max-fds)`, 'descriptors');
    }
  }

  /** The number add() would use next. */
  nextFree(): number {
    let fd = 0;
    while (this.slots[fd] !== undefined) fd++;
    return fd;
  }

  /** Puts `d` in the lowest free slot, as POSIX open() does. */
  add(d: Descriptor): number {
    this.ensureRoom();
    const fd = this.nextFree();
    this.slots[fd] = d;
    this.count++;
    return fd;
  }

  /** Places `d` at a fixed number (used for stdio and preopens at start). */
  set(fd: number, d: Descriptor): void {
    if (this.slots[fd] === undefined) this.count++;
    this.slots[fd] = d;
  }

  close(fd: number): void {
    const d = this.slots[fd];
    if (d === undefined) throw new SysError(Errno.BADF);
    this.slots[fd] = undefined;
    this.count--;
    d.close();
  }

  /** fd_renumber: `from` replaces `to` (which is closed) and `from` becomes free. */
  renumber(from: number, to: number): void {
    const d = this.slots[from];
    if (d === undefined || this.slots[to] === undefined) throw new SysError(Errno.BADF);
    if (from === to) return;
    this.close(to);
    this.slots[to] = d;
    this.slots[from] = undefined;
  }

  /** Every open descriptor number, ascending. */
  numbers(): number[] {
    const out: number[] = [];
    this.slots.forEach((d, fd) => { if (d) out.push(fd); });
    return out;
  }

  closeAll(): void {
    for (const fd of this.numbers()) {
      try { this.close(fd); } catch { /* closing is best effort at exit */ }
    }
  }
}

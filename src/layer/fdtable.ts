// The guest's descriptor table: small integers to Descriptors, with a
// capacity (EMFILE past it) and typed lookups that check rights. Several
// numbers may share one descriptor (fd_dup): it is closed with the last.

import { Denial, Errno, SysError } from '../core/errno.js';
import { refuseRights, type Descriptor } from './descriptor.js';

/** Default bound on open descriptors per guest; a policy may lower or raise it. */
export const DEFAULT_MAX_FDS = 1024;

export class FdTable {
  private readonly slots: (Descriptor | undefined)[] = [];
  private count = 0;
  /** Table slots per descriptor, so a duplicated one is closed only with its last number. */
  private readonly refs = new Map<Descriptor, number>();
  /** Per-number flags (WASIX fdflagsext: close-on-exec), not shared with duplicates. */
  private readonly ext = new Map<number, number>();

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
    return this.addFrom(0, d);
  }

  /** Puts `d` in the lowest free slot at or above `min` (fcntl F_DUPFD). */
  addFrom(min: number, d: Descriptor): number {
    // As Linux with RLIMIT_NOFILE: numbers stay below the descriptor limit.
    if (min < 0 || min >= this.capacity) throw new SysError(Errno.INVAL);
    this.ensureRoom();
    let fd = min;
    while (this.slots[fd] !== undefined) fd++;
    this.slots[fd] = d;
    this.count++;
    this.refs.set(d, (this.refs.get(d) ?? 0) + 1);
    return fd;
  }

  /** Places `d` at a fixed number (used for stdio and preopens at start). */
  set(fd: number, d: Descriptor): void {
    if (this.slots[fd] !== undefined) this.close(fd);
    this.count++;
    this.slots[fd] = d;
    this.refs.set(d, (this.refs.get(d) ?? 0) + 1);
  }

  close(fd: number): void {
    const d = this.slots[fd];
    if (d === undefined) throw new SysError(Errno.BADF);
    this.slots[fd] = undefined;
    this.ext.delete(fd);
    this.count--;
    const left = (this.refs.get(d) ?? 1) - 1;
    if (left > 0) {
      this.refs.set(d, left);
      return;
    }
    this.refs.delete(d);
    d.close();
  }

  /** The WASIX fdflagsext of a number (close-on-exec). */
  flagsExt(fd: number): number {
    this.get(fd);
    return this.ext.get(fd) ?? 0;
  }

  setFlagsExt(fd: number, flags: number): void {
    this.get(fd);
    if (flags === 0) this.ext.delete(fd);
    else this.ext.set(fd, flags);
  }

  /** fd_renumber: `from` replaces `to` (which is closed) and `from` becomes free. */
  renumber(from: number, to: number): void {
    const d = this.slots[from];
    if (d === undefined || this.slots[to] === undefined) throw new SysError(Errno.BADF);
    if (from === to) return;
    this.close(to);
    this.slots[to] = d;
    this.slots[from] = undefined;
    const flags = this.ext.get(from);
    this.ext.delete(from);
    if (flags !== undefined) this.ext.set(to, flags);
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

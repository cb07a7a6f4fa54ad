// What a guest file descriptor refers to. Each kind (file, directory, stdio
// stream, socket) overrides what it supports; everything else fails with the
// errno POSIX gives for that kind of object.

import { Denial, Errno, SysError } from '../core/errno.js';
import { WRITE_RIGHTS } from '../core/witx.js';
import type { NodeStat, TimeSpec } from './fs/backend.js';

/** Readiness of a descriptor for poll_oneoff. */
export interface Readiness {
  ready: boolean;
  /** Bytes available to read, or space to write, when known. */
  nbytes: bigint;
  hangup: boolean;
}

export const READY: Readiness = Object.freeze({ ready: true, nbytes: 0n, hangup: false });

export abstract class Descriptor {
  abstract readonly filetype: number;
  /** fdflags (APPEND, NONBLOCK, ...) as the guest last set them. */
  fdflags = 0;
  /** The guest path of the read-only mount this descriptor lies in, if it does. */
  readOnlyMount: string | undefined;
  /** The guest path this descriptor was opened as, where known (for audit records). */
  guestPath: string | undefined;
  /** The guest path of the mount it was opened under (files and directories: a snapshot reopens it there). */
  mount: string | undefined;
  /** How path_open made it (files and directories opened below a mount), for a snapshot to open it again alike. */
  openedWith: { oflags: number; follow: boolean } | undefined;

  constructor(public rightsBase: number, public rightsInheriting: number) {}

  read(_bufs: Uint8Array[]): number { throw new SysError(Errno.BADF); }
  write(_bufs: Uint8Array[]): number { throw new SysError(Errno.BADF); }
  /** read() into one buffer given as guest memory, offset and length (checked by the caller). */
  readMemory(mem: Uint8Array, offset: number, len: number): number { return this.read([mem.subarray(offset, offset + len)]); }
  /** write() of one buffer given as guest memory, offset and length (checked by the caller). */
  writeMemory(mem: Uint8Array, offset: number, len: number): number { return this.write([mem.subarray(offset, offset + len)]); }
  pread(_bufs: Uint8Array[], _offset: number): number { throw new SysError(Errno.SPIPE); }
  pwrite(_bufs: Uint8Array[], _offset: number): number { throw new SysError(Errno.SPIPE); }
  seek(_offset: bigint, _whence: number): bigint { throw new SysError(Errno.SPIPE); }
  tell(): bigint { throw new SysError(Errno.SPIPE); }
  stat(): NodeStat {
    return { dev: 0n, ino: 0n, filetype: this.filetype, nlink: 1n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n };
  }
  setFlags(flags: number): void { this.fdflags = flags; }
  setSize(_size: number): void { throw new SysError(Errno.INVAL); }
  setTimes(_atim: TimeSpec, _mtim: TimeSpec): void { throw new SysError(Errno.INVAL); }
  sync(): void { throw new SysError(Errno.INVAL); }
  datasync(): void { throw new SysError(Errno.INVAL); }
  advise(_offset: number, _len: number, _advice: number): void { throw new SysError(Errno.SPIPE); }
  allocate(_offset: number, _len: number): void { throw new SysError(Errno.INVAL); }
  pollRead(): Readiness { return READY; }
  pollWrite(): Readiness { return READY; }
  /** Releases what the descriptor holds; called once, when its last table slot goes. */
  close(): void {}
}

/** Refuses a change below a read-only mount, as POSIX does: EROFS, audited as a policy denial. */
export function refuseReadOnly(d: Descriptor, target = d.guestPath ?? d.readOnlyMount): never {
  throw new Denial(Errno.ROFS, 'deny', `mount ${d.readOnlyMount} is read-only (a mount without :ro would allow it)`, target);
}

/**
 * Refuses a call for lack of rights. Where the missing rights are write
 * rights of a descriptor in a read-only mount, that is a policy denial (and
 * audited as one), not a mere capability mismatch.
 */
export function refuseRights(d: Descriptor, wanted: number, have = d.rightsBase): never {
  const missing = wanted & ~have;
  if (d.readOnlyMount !== undefined && (missing & ~WRITE_RIGHTS) === 0) {
    throw new Denial(Errno.NOTCAPABLE, 'deny', `mount ${d.readOnlyMount} is read-only (a mount without :ro would allow it)`,
      d.guestPath ?? d.readOnlyMount);
  }
  throw new SysError(Errno.NOTCAPABLE);
}

// WASI preview 1 errno values, exactly as the witx `errno` enum numbers them.
// Every guest-visible failure in Capsule is one of these; host errors are
// translated once, in src/core/host-errno.ts.

export const Errno = {
  SUCCESS: 0, TOOBIG: 1, ACCES: 2, ADDRINUSE: 3, ADDRNOTAVAIL: 4, AFNOSUPPORT: 5,
  AGAIN: 6, ALREADY: 7, BADF: 8, BADMSG: 9, BUSY: 10, CANCELED: 11, CHILD: 12,
  CONNABORTED: 13, CONNREFUSED: 14, CONNRESET: 15, DEADLK: 16, DESTADDRREQ: 17,
  DOM: 18, DQUOT: 19, EXIST: 20, FAULT: 21, FBIG: 22, HOSTUNREACH: 23, IDRM: 24,
  ILSEQ: 25, INPROGRESS: 26, INTR: 27, INVAL: 28, IO: 29, ISCONN: 30, ISDIR: 31,
  LOOP: 32, MFILE: 33, MLINK: 34, MSGSIZE: 35, MULTIHOP: 36, NAMETOOLONG: 37,
  NETDOWN: 38, NETRESET: 39, NETUNREACH: 40, NFILE: 41, NOBUFS: 42, NODEV: 43,
  NOENT: 44, NOEXEC: 45, NOLCK: 46, NOLINK: 47, NOMEM: 48, NOMSG: 49,
  NOPROTOOPT: 50, NOSPC: 51, NOSYS: 52, NOTCONN: 53, NOTDIR: 54, NOTEMPTY: 55,
  NOTRECOVERABLE: 56, NOTSOCK: 57, NOTSUP: 58, NOTTY: 59, NXIO: 60, OVERFLOW: 61,
  OWNERDEAD: 62, PERM: 63, PIPE: 64, PROTO: 65, PROTONOSUPPORT: 66, PROTOTYPE: 67,
  RANGE: 68, ROFS: 69, SPIPE: 70, SRCH: 71, STALE: 72, TIMEDOUT: 73, TXTBSY: 74,
  XDEV: 75, NOTCAPABLE: 76,
} as const;

export type ErrnoName = keyof typeof Errno;
export type ErrnoValue = (typeof Errno)[ErrnoName];

const names: string[] = [];
for (const [name, value] of Object.entries(Errno)) names[value] = name;

/** The witx name of an errno value, e.g. 44 -> "NOENT". */
export function errnoName(value: number): string {
  return names[value] ?? `errno ${value}`;
}

/**
 * A failure the guest sees as an errno. Thrown anywhere inside the layer and
 * turned into the call's return value by the ABI glue; never escapes to the
 * host.
 */
export class SysError extends Error {
  constructor(readonly errno: number, detail?: string) {
    super(detail ? `${errnoName(errno)}: ${detail}` : errnoName(errno));
    this.name = 'SysError';
  }
}

/** Throw the errno `e` (a shorthand that keeps call sites to one line). */
export function fail(e: number, detail?: string): never {
  throw new SysError(e, detail);
}

/**
 * A call refused by policy or stopped by a limit: the guest gets the errno,
 * the audit log gets the reason (naming the grant that would allow it).
 */
export class Denial extends SysError {
  constructor(errno: number, readonly decision: 'deny' | 'limit', public reason: string, public target?: string) {
    super(errno, reason);
    this.name = 'Denial';
  }
}

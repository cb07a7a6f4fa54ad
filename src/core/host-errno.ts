// The one place where a host (libuv/POSIX) error becomes a guest errno.

import { Errno, SysError } from './errno.js';

const byCode: Record<string, number> = {
  E2BIG: Errno.TOOBIG, EACCES: Errno.ACCES, EADDRINUSE: Errno.ADDRINUSE,
  EADDRNOTAVAIL: Errno.ADDRNOTAVAIL, EAFNOSUPPORT: Errno.AFNOSUPPORT, EAGAIN: Errno.AGAIN,
  EWOULDBLOCK: Errno.AGAIN, EALREADY: Errno.ALREADY, EBADF: Errno.BADF, EBADMSG: Errno.BADMSG,
  EBUSY: Errno.BUSY, ECANCELED: Errno.CANCELED, ECHILD: Errno.CHILD,
  ECONNABORTED: Errno.CONNABORTED, ECONNREFUSED: Errno.CONNREFUSED, ECONNRESET: Errno.CONNRESET,
  EDEADLK: Errno.DEADLK, EDESTADDRREQ: Errno.DESTADDRREQ, EDOM: Errno.DOM, EDQUOT: Errno.DQUOT,
  EEXIST: Errno.EXIST, EFAULT: Errno.FAULT, EFBIG: Errno.FBIG, EHOSTUNREACH: Errno.HOSTUNREACH,
  EIDRM: Errno.IDRM, EILSEQ: Errno.ILSEQ, EINPROGRESS: Errno.INPROGRESS, EINTR: Errno.INTR,
  EINVAL: Errno.INVAL, EIO: Errno.IO, EISCONN: Errno.ISCONN, EISDIR: Errno.ISDIR,
  ELOOP: Errno.LOOP, EMFILE: Errno.MFILE, EMLINK: Errno.MLINK, EMSGSIZE: Errno.MSGSIZE,
  EMULTIHOP: Errno.MULTIHOP, ENAMETOOLONG: Errno.NAMETOOLONG, ENETDOWN: Errno.NETDOWN,
  ENETRESET: Errno.NETRESET, ENETUNREACH: Errno.NETUNREACH, ENFILE: Errno.NFILE,
  ENOBUFS: Errno.NOBUFS, ENODEV: Errno.NODEV, ENOENT: Errno.NOENT, ENOEXEC: Errno.NOEXEC,
  ENOLCK: Errno.NOLCK, ENOLINK: Errno.NOLINK, ENOMEM: Errno.NOMEM, ENOMSG: Errno.NOMSG,
  ENOPROTOOPT: Errno.NOPROTOOPT, ENOSPC: Errno.NOSPC, ENOSYS: Errno.NOSYS,
  ENOTCONN: Errno.NOTCONN, ENOTDIR: Errno.NOTDIR, ENOTEMPTY: Errno.NOTEMPTY,
  ENOTRECOVERABLE: Errno.NOTRECOVERABLE, ENOTSOCK: Errno.NOTSOCK, ENOTSUP: Errno.NOTSUP,
  EOPNOTSUPP: Errno.NOTSUP, ENOTTY: Errno.NOTTY, ENXIO: Errno.NXIO, EOVERFLOW: Errno.OVERFLOW,
  EOWNERDEAD: Errno.OWNERDEAD, EPERM: Errno.PERM, EPIPE: Errno.PIPE, EPROTO: Errno.PROTO,
  EPROTONOSUPPORT: Errno.PROTONOSUPPORT, EPROTOTYPE: Errno.PROTOTYPE, ERANGE: Errno.RANGE,
  EROFS: Errno.ROFS, ESPIPE: Errno.SPIPE, ESRCH: Errno.SRCH, ESTALE: Errno.STALE,
  ETIMEDOUT: Errno.TIMEDOUT, ETXTBSY: Errno.TXTBSY, EXDEV: Errno.XDEV,
  // libuv-specific spellings
  ECHARSET: Errno.ILSEQ, EAI_NONAME: Errno.NOENT, ENOTFOUND: Errno.NOENT,
};

/** Maps any error thrown by a host API to the errno the guest should see. */
export function errnoOf(err: unknown): number {
  if (err instanceof SysError) return err.errno;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in byCode) return byCode[code]!;
  // Node rejects some arguments itself (embedded NUL bytes, out-of-range sizes).
  if (code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_INVALID_ARG_TYPE') return Errno.INVAL;
  if (code === 'ERR_OUT_OF_RANGE') return Errno.INVAL;
  if (err instanceof RangeError) return Errno.INVAL;
  return Errno.IO;
}

/** Runs a host call, turning whatever it throws into a SysError. */
export function hostCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SysError) throw err;
    throw new SysError(errnoOf(err), (err as Error)?.message);
  }
}

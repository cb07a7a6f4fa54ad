// The socket calls of module wasix_32v1, with WASIX's memory layouts:
// decode, find the socket, call it, encode. Send and receive are preview 1's.

import { Errno, SysError } from '../../core/errno.js';
import { Rights } from '../../core/witx.js';
import { SIFLAGS_DONT_WAIT, acceptInto, receive, socketAt } from '../preview1/sock.js';
import { WASIX_OPTION, WASIX_OPTIONS, type SocketOptions } from '../../layer/net/options.js';
import { SocketStatus } from '../../layer/net/status.js';
import type { SockAddr } from '../../core/net/address.js';
import { ADDR_IP_SIZE, ADDR_PORT_SIZE, AddressFamily, readAddrPort, writeAddrIp, writeAddrPort } from './address.js';
import type { WasixContext } from './context.js';

export { WASIX_MODULE, WASIX_NAMES, WASIX_SOCKET_NAMES } from './names.js';

const SockType = { STREAM: 1, DGRAM: 2 } as const;
const Proto = { IP: 0, TCP: 6, UDP: 17 } as const;
/** sock_status values. */
const Status = { OPENING: 0, OPENED: 1, CLOSED: 2, FAILED: 3 } as const;

export function wasixSocketFunctions(ctx: WasixContext) {
  const { memory: m, fds } = ctx;

  const option = (opt: number, kind: 'flag' | 'time' | 'size'): keyof SocketOptions => {
    const o = WASIX_OPTIONS[opt];
    if (!o || o.kind !== kind) throw new SysError(Errno.NOPROTOOPT);
    return o.name;
  };

  return {
    sock_open(af: number, type: number, proto: number, fdPtr: number): number {
      m.check(fdPtr, 4);
      if (af !== AddressFamily.INET4 && af !== AddressFamily.INET6) throw new SysError(Errno.AFNOSUPPORT);
      if (type !== SockType.STREAM && type !== SockType.DGRAM) throw new SysError(Errno.PROTOTYPE);
      const stream = type === SockType.STREAM;
      if (proto !== Proto.IP && proto !== (stream ? Proto.TCP : Proto.UDP)) throw new SysError(Errno.PROTONOSUPPORT);
      fds.ensureRoom();
      const fd = fds.nextFree();
      const s = ctx.openSocket(fd, af === AddressFamily.INET4 ? 4 : 6, stream ? 'stream' : 'dgram');
      fds.add(s);
      m.setU32(fdPtr, fd);
      return 0;
    },

    sock_bind(fd: number, addrPtr: number): number {
      socketAt(fds, fd).bind(readAddrPort(m, addrPtr));
      return 0;
    },

    sock_listen(fd: number, backlog: number): number {
      socketAt(fds, fd).listen(backlog | 0);
      return 0;
    },

    sock_connect(fd: number, addrPtr: number): number {
      socketAt(fds, fd).connect(readAddrPort(m, addrPtr));
      return 0;
    },

    sock_accept_v2(fd: number, flags: number, fdPtr: number, addrPtr: number): number {
      const s = socketAt(fds, fd, Rights.SOCK_ACCEPT);
      m.check(fdPtr, 4);
      m.check(addrPtr, ADDR_PORT_SIZE);
      const newFd = acceptInto(fds, s, flags);
      m.setU32(fdPtr, newFd);
      writeAddrPort(m, addrPtr, socketAt(fds, newFd).peer);
      return 0;
    },

    sock_recv_from(fd: number, riData: number, riLen: number, riFlags: number, roLen: number, roFlags: number, addrPtr: number): number {
      const s = socketAt(fds, fd, Rights.FD_READ);
      m.check(addrPtr, ADDR_PORT_SIZE);
      writeAddrPort(m, addrPtr, receive(m, s, riData, riLen, riFlags, roLen, roFlags).from);
      return 0;
    },

    sock_send_to(fd: number, siData: number, siLen: number, siFlags: number, addrPtr: number, nsent: number): number {
      const s = socketAt(fds, fd, Rights.FD_WRITE);
      m.check(nsent, 4);
      const to = readAddrPort(m, addrPtr);
      const bufs = m.iovecs(siData, siLen);
      m.setU32(nsent, s.type === 'dgram' ? s.sendTo(bufs, to) : s.send(bufs, (siFlags & SIFLAGS_DONT_WAIT) !== 0));
      return 0;
    },

    sock_status(fd: number, ptr: number): number {
      const s = socketAt(fds, fd);
      m.check(ptr, 1);
      const st = s.status;
      let v: number = Status.OPENING;
      if (st === SocketStatus.LISTENING || st === SocketStatus.CONNECTED || st === SocketStatus.SENDING ||
          st === SocketStatus.RECEIVING) v = Status.OPENED;
      else if (st === SocketStatus.SHUTDOWN || st === SocketStatus.DISCONNECTED || st === SocketStatus.TERMINATED) v = Status.CLOSED;
      m.setU8(ptr, v);
      return 0;
    },

    sock_addr_local(fd: number, ptr: number): number {
      const s = socketAt(fds, fd);
      m.check(ptr, ADDR_PORT_SIZE);
      writeAddrPort(m, ptr, s.local ?? { family: s.family, ip: s.family === 4 ? '0.0.0.0' : '::', port: 0 });
      return 0;
    },

    sock_addr_peer(fd: number, ptr: number): number {
      const s = socketAt(fds, fd);
      m.check(ptr, ADDR_PORT_SIZE);
      if (!s.peer || s.status === SocketStatus.LISTENING) throw new SysError(Errno.NOTCONN);
      writeAddrPort(m, ptr, s.peer);
      return 0;
    },

    sock_set_opt_flag(fd: number, opt: number, flag: number): number {
      socketAt(fds, fd).setOption(option(opt, 'flag'), flag !== 0);
      return 0;
    },

    sock_get_opt_flag(fd: number, opt: number, ptr: number): number {
      const s = socketAt(fds, fd);
      m.check(ptr, 1);
      const v = opt === WASIX_OPTION.LISTENING ? s.status === SocketStatus.LISTENING : s.options[option(opt, 'flag')];
      m.setU8(ptr, v ? 1 : 0);
      return 0;
    },

    sock_set_opt_time(fd: number, opt: number, ptr: number): number {
      const s = socketAt(fds, fd);
      const name = option(opt, 'time');
      const tag = m.u8(ptr);
      if (tag > 1) throw new SysError(Errno.INVAL);
      s.setOption(name, tag === 1 ? Number(m.u64(ptr + 8)) : null);
      return 0;
    },

    sock_get_opt_time(fd: number, opt: number, ptr: number): number {
      const s = socketAt(fds, fd);
      m.check(ptr, 16);
      const v = s.options[option(opt, 'time')] as number | null;
      m.slice(ptr, 16).fill(0);
      if (v !== null) {
        m.setU8(ptr, 1);
        m.setU64(ptr + 8, BigInt(Math.round(v)));
      }
      return 0;
    },

    sock_set_opt_size(fd: number, opt: number, size: bigint): number {
      const s = socketAt(fds, fd);
      const v = BigInt.asUintN(64, size);
      if (v > 0x7fffffffn) throw new SysError(Errno.INVAL);
      s.setOption(option(opt, 'size'), Number(v));
      return 0;
    },

    sock_get_opt_size(fd: number, opt: number, ptr: number): number {
      const s = socketAt(fds, fd);
      m.check(ptr, 8);
      let v: number;
      if (opt === WASIX_OPTION.LAST_ERROR) v = s.takeError();
      else if (opt === WASIX_OPTION.TYPE) v = s.type === 'stream' ? SockType.STREAM : SockType.DGRAM;
      else if (opt === WASIX_OPTION.PROTO) v = s.type === 'stream' ? Proto.TCP : Proto.UDP;
      else v = s.options[option(opt, 'size')] as number;
      m.setU64(ptr, BigInt(v));
      return 0;
    },

    resolve(hostPtr: number, hostLen: number, port: number, addrs: number, naddrs: number, nresolved: number): number {
      naddrs >>>= 0;
      m.check(nresolved, 4);
      m.check(addrs, naddrs * ADDR_IP_SIZE);
      const name = m.string(hostPtr, hostLen);
      if (name === '' || name.length > 253) throw new SysError(Errno.INVAL);
      const found = ctx.net.call<SockAddr[]>({ op: 'resolve', name, port: port & 0xffff });
      const n = Math.min(found.length, naddrs);
      for (let i = 0; i < n; i++) writeAddrIp(m, addrs + i * ADDR_IP_SIZE, found[i]!);
      m.setU32(nresolved, n);
      return 0;
    },
  };
}

/** Names the module provides, for checking a guest's imports before it starts. */

// WASIX socket address layouts in guest memory (api_wasix.h):
//   addr_port (110 bytes): family tag u8 at 0; port u16 in host byte order at 2;
//     IPv4: 4 address bytes in network order at 4;
//     IPv6: 16 address bytes at 4, flow info at 20 (high u16, low u16), scope id at 24.
//   addr_ip (18 bytes, what resolve() fills): family tag u8 at 0, address bytes at 2.

import { Errno, SysError } from '../../core/errno.js';
import type { GuestMemory } from '../memory.js';
import { bytesOf, fromBytes, type SockAddr } from '../../core/net/address.js';

export const AddressFamily = { UNSPEC: 0, INET4: 1, INET6: 2, UNIX: 3 } as const;
export const ADDR_PORT_SIZE = 110;
export const ADDR_IP_SIZE = 18;

export function readAddrPort(m: GuestMemory, ptr: number): SockAddr {
  m.check(ptr, ADDR_PORT_SIZE);
  const tag = m.u8(ptr);
  const port = m.u16(ptr + 2);
  if (tag === AddressFamily.INET4) return fromBytes(4, m.slice(ptr + 4, 4), port);
  if (tag === AddressFamily.INET6) return fromBytes(6, m.slice(ptr + 4, 16), port);
  throw new SysError(tag === AddressFamily.UNIX ? Errno.AFNOSUPPORT : Errno.INVAL, `address family tag ${tag}`);
}

export function writeAddrPort(m: GuestMemory, ptr: number, a: SockAddr | undefined): void {
  const out = m.slice(ptr, ADDR_PORT_SIZE);
  out.fill(0);
  if (!a) return;
  out[0] = a.family === 4 ? AddressFamily.INET4 : AddressFamily.INET6;
  m.setU16(ptr + 2, a.port);
  out.set(bytesOf(a), 4);
}

export function writeAddrIp(m: GuestMemory, ptr: number, a: SockAddr): void {
  const out = m.slice(ptr, ADDR_IP_SIZE);
  out.fill(0);
  out[0] = a.family === 4 ? AddressFamily.INET4 : AddressFamily.INET6;
  out.set(bytesOf(a), 2);
}

// Socket addresses as the layer handles them: a family, a canonical IP
// string and a port. Canonical means parsed, never compared as typed: every
// spelling of one address ("127.1", "0x7f.0.0.1", "::ffff:127.0.0.1") becomes
// the same string here, so every check sees the same value.

import type { IPv4, IPv6 } from 'ipaddr.js';
import { Errno, SysError } from '../../abi/errno.js';
import { ipaddr } from './ipaddr.js';

export type Family = 4 | 6;

export interface SockAddr {
  family: Family;
  /** Canonical text: dotted quad for IPv4, RFC 5952 for IPv6. */
  ip: string;
  port: number;
}

/** Parses any spelling of an IP address; undefined if it is not one. */
export function parseIp(text: string): IPv4 | IPv6 | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (!ipaddr().isValid(t)) return undefined;
  try {
    return ipaddr().parse(t);
  } catch {
    return undefined;
  }
}

/** The canonical form of an address; IPv4-mapped IPv6 becomes IPv4. */
export function canonicalIp(text: string): { family: Family; ip: string } | undefined {
  const a = parseIp(text);
  if (!a) return undefined;
  const p = a.kind() === 'ipv6' && (a as IPv6).isIPv4MappedAddress() ? (a as IPv6).toIPv4Address() : a;
  return { family: p.kind() === 'ipv4' ? 4 : 6, ip: p.toString() };
}

/** The address's range: "loopback", "private", "linkLocal", "unspecified", "unicast", ... */
export function rangeOf(ip: string): string {
  const a = parseIp(ip);
  if (!a) return 'invalid';
  const p = a.kind() === 'ipv6' && (a as IPv6).isIPv4MappedAddress() ? (a as IPv6).toIPv4Address() : a;
  return p.range();
}

export function bytesOf(addr: { family: Family; ip: string }): number[] {
  const a = ipaddr().parse(addr.ip);
  if (addr.family === 6 && a.kind() === 'ipv4') return (a as IPv4).toIPv4MappedAddress().toByteArray();
  return a.toByteArray();
}

export function fromBytes(family: Family, bytes: ArrayLike<number>, port: number): SockAddr {
  const arr = Array.from(bytes);
  const ip = family === 4 ? ipaddr().fromByteArray(arr.slice(0, 4)) : ipaddr().fromByteArray(arr.slice(0, 16));
  return { family, ip: ip.toString(), port };
}

export function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

export function isLoopback(ip: string): boolean {
  return rangeOf(ip) === 'loopback';
}

export function formatAddr(a: SockAddr | undefined): string {
  if (!a) return '*';
  return a.family === 6 ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
}

export function unspecified(family: Family, port = 0): SockAddr {
  return { family, ip: family === 4 ? '0.0.0.0' : '::', port };
}

/** Checks a guest-supplied address for a socket of `family`. */
export function checkFamily(addr: SockAddr, family: Family): void {
  if (addr.family !== family) throw new SysError(Errno.AFNOSUPPORT, `address family IPv${addr.family} on an IPv${family} socket`);
  if (addr.port < 0 || addr.port > 65535) throw new SysError(Errno.INVAL, 'port out of range');
}

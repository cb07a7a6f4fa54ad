// Socket addresses as the layer handles them: a family, a canonical IP
// string and a port. Canonical means parsed, never compared as typed: every
// spelling of one address ("127.1", "0x7f.0.0.1", "::ffff:127.0.0.1") becomes
// the same string here, so every check sees the same value. An IPv6 address
// that embeds the IPv4 address it leads to ("::ffff:a9fe:a9fe",
// "::a9fe:a9fe", "64:ff9b::a9fe:a9fe") is that IPv4 address.

import type { IPv4, IPv6 } from 'ipaddr.js';
import { Errno, SysError } from '../errno.js';
import { ipaddr } from './ipaddr.js';
import { classify } from './ranges.js';

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

/** The host's loopback as guests see it: `host.capsule.internal`, 10.89.255.254. */
export const HOST_GATEWAY = { name: 'host.capsule.internal', v4: '10.89.255.254', loopback: '127.0.0.1' } as const;

/**
 * IPv6 /96 prefixes whose last 32 bits are the IPv4 address the packet goes
 * to: IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96,
 * IPv4-compatible ::/96 (but :: and ::1 are themselves) and NAT64's
 * well-known 64:ff9b::/96.
 */
export const IPV4_EMBEDDING: readonly (readonly number[])[] = [
  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
  [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0],
  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0],
];

/** The IPv4 address an IPv6 one stands for, if it is one of the forms above. */
function embedded(a: IPv6): IPv4 | undefined {
  const b = a.toByteArray();
  const prefix = IPV4_EMBEDDING.find((p) => p.every((v, i) => b[i] === v));
  if (!prefix) return undefined;
  if (prefix.every((v) => v === 0) && b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15]! <= 1) return undefined;
  return ipaddr().fromByteArray(b.slice(12)) as IPv4;
}

/** The canonical form of an address: an IPv6 address that embeds the IPv4 one it leads to becomes that IPv4 address. */
export function canonicalIp(text: string): { family: Family; ip: string } | undefined {
  const a = parseIp(text);
  if (!a) return undefined;
  const p = a.kind() === 'ipv6' ? embedded(a as IPv6) ?? a : a;
  return { family: p.kind() === 'ipv4' ? 4 : 6, ip: p.toString() };
}

/** Where an address leads on the host: its canonical form, with the gateway standing for the host's loopback. */
export function canonicalDestination(text: string): { family: Family; ip: string } | undefined {
  const c = canonicalIp(text);
  return c?.ip === HOST_GATEWAY.v4 ? { family: 4, ip: HOST_GATEWAY.loopback } : c;
}

/** The special range of an address ("loopback", "private", ...), or "public". */
export function rangeOf(ip: string): string {
  const c = canonicalIp(ip);
  if (!c) return 'invalid';
  return classify(ipaddr().parse(c.ip).toByteArray())?.range ?? 'public';
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

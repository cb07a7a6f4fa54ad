// The virtual network of one layer: every guest has a name, an IPv4 and an
// IPv6 address of its own and its own port space (as containers in a pod
// each have a network namespace). Loopback and the unspecified address
// always mean the guest itself. Anything that is not a guest is "outside".

import { Errno, SysError } from '../../core/errno.js';
import { canonicalIp, isLoopback, isUnspecified, type Family, type SockAddr } from '../../core/net/address.js';

/** First address handed out: 10.89.0.2, fd89::2, then counting up. */
const V4_PREFIX = '10.89.0.';
const V6_PREFIX = 'fd89::';
const EPHEMERAL_FIRST = 49152;
const EPHEMERAL_LAST = 65535;

export type Proto = 'tcp' | 'udp';

export interface GuestHost {
  name: string;
  v4: string;
  v6: string;
}

/** A port binding, as a sealed system snapshot carries it. */
export type SealedBinding = Binding;

interface Binding {
  guest: string;
  proto: Proto;
  family: Family;
  /** Canonical address bound; unspecified = every address of the guest. */
  ip: string;
  port: number;
  v6only: boolean;
  entryId: number;
}

/** Where an address leads, seen from one guest. */
export type Destination = { kind: 'guest'; guest: string } | { kind: 'outside' };

export class VirtualNetwork {
  private readonly hosts = new Map<string, GuestHost>();
  private readonly byIp = new Map<string, string>();
  private readonly bindings = new Map<string, Binding[]>();
  private readonly nextEphemeral = new Map<string, number>();

  addGuest(name: string): GuestHost {
    // Names are host names: case-insensitive, kept lower-case.
    name = name.toLowerCase();
    if (this.hosts.has(name)) throw new Error(`guest name '${name}' is used twice`);
    const n = this.hosts.size + 2;
    const host = { name, v4: `${V4_PREFIX}${n}`, v6: `${V6_PREFIX}${n.toString(16)}` };
    this.hosts.set(name, host);
    this.byIp.set(host.v4, name);
    this.byIp.set(host.v6, name);
    return host;
  }

  host(name: string): GuestHost | undefined {
    return this.hosts.get(name.toLowerCase());
  }

  guests(): GuestHost[] {
    return [...this.hosts.values()];
  }

  /** Addresses a name stands for on this network, or undefined if it is not a guest name. */
  lookupName(name: string, from: string): SockAddr[] | undefined {
    const n = name.toLowerCase().replace(/\.$/, '');
    if (n === 'localhost') return [{ family: 4, ip: '127.0.0.1', port: 0 }, { family: 6, ip: '::1', port: 0 }];
    const h = this.hosts.get(n);
    if (!h) return undefined;
    return [{ family: 4, ip: h.v4, port: 0 }, { family: 6, ip: h.v6, port: 0 }];
  }

  /** Where `ip` leads from guest `from`. */
  destination(from: string, ip: string): Destination {
    const c = canonicalIp(ip);
    if (!c) return { kind: 'outside' };
    if (isLoopback(c.ip) || isUnspecified(c.ip)) return { kind: 'guest', guest: from };
    const owner = this.byIp.get(c.ip);
    return owner ? { kind: 'guest', guest: owner } : { kind: 'outside' };
  }

  /** True if `ip` is one of the guest's own addresses (where it may bind). */
  isOwnAddress(guest: string, ip: string): boolean {
    const c = canonicalIp(ip);
    if (!c) return false;
    if (isLoopback(c.ip) || isUnspecified(c.ip)) return true;
    return this.byIp.get(c.ip) === guest;
  }

  /** The address a guest's connection from this socket appears to come from. */
  sourceFor(guest: string, family: Family, towardLoopback: boolean): string {
    if (towardLoopback) return family === 4 ? '127.0.0.1' : '::1';
    const h = this.hosts.get(guest)!;
    return family === 4 ? h.v4 : h.v6;
  }

  private key(guest: string, proto: Proto, port: number): string {
    return `${guest}/${proto}/${port}`;
  }

  /** Claims a port; port 0 takes a free ephemeral one. EADDRINUSE if taken. */
  bind(guest: string, proto: Proto, addr: SockAddr, v6only: boolean, entryId: number): SockAddr {
    const c = canonicalIp(addr.ip) ?? { family: addr.family, ip: addr.ip };
    let port = addr.port;
    if (port === 0) port = this.ephemeral(guest, proto);
    const list = this.bindings.get(this.key(guest, proto, port)) ?? [];
    const mine: Binding = { guest, proto, family: addr.family, ip: c.ip, port, v6only, entryId };
    if (list.some((b) => this.overlaps(b, mine))) throw new SysError(Errno.ADDRINUSE);
    list.push(mine);
    this.bindings.set(this.key(guest, proto, port), list);
    return { family: addr.family, ip: addr.ip, port };
  }

  unbind(guest: string, proto: Proto, port: number, entryId: number): void {
    const k = this.key(guest, proto, port);
    const list = this.bindings.get(k)?.filter((b) => b.entryId !== entryId) ?? [];
    if (list.length) this.bindings.set(k, list);
    else this.bindings.delete(k);
  }

  /** The socket bound to receive at `ip:port` in guest `guest`'s namespace, if any. */
  find(guest: string, proto: Proto, family: Family, ip: string, port: number, accept: (entryId: number) => boolean): number | undefined {
    const c = canonicalIp(ip);
    if (!c) return undefined;
    const list = this.bindings.get(this.key(guest, proto, port)) ?? [];
    // An exact address wins over a wildcard, as in the kernel.
    const exact = list.find((b) => b.ip === c.ip && accept(b.entryId));
    if (exact) return exact.entryId;
    const wild = list.find((b) => isUnspecified(b.ip) && (b.family === c.family || (b.family === 6 && family === 6 && !b.v6only) ||
      (b.family === 6 && c.family === 4 && !b.v6only)) && accept(b.entryId));
    return wild?.entryId;
  }

  /** Every binding and the next ephemeral port of each guest, for a sealed system snapshot. */
  sealedBindings(): { bindings: SealedBinding[]; ephemeral: [string, number][] } {
    return { bindings: [...this.bindings.values()].flat().map((b) => ({ ...b })), ephemeral: [...this.nextEphemeral] };
  }

  /** Puts sealed bindings back (the guests already added, in the sealed order). */
  restoreBindings(bindings: SealedBinding[], ephemeral: [string, number][]): void {
    this.bindings.clear();
    for (const b of bindings) {
      const k = this.key(b.guest, b.proto, b.port);
      const list = this.bindings.get(k) ?? [];
      list.push({ ...b });
      this.bindings.set(k, list);
    }
    this.nextEphemeral.clear();
    for (const [k, p] of ephemeral) this.nextEphemeral.set(k, p);
  }

  private overlaps(a: Binding, b: Binding): boolean {
    if (a.ip === b.ip) return true;
    const wildA = isUnspecified(a.ip), wildB = isUnspecified(b.ip);
    if (!wildA && !wildB) return false;
    if (a.family === b.family) return true;
    // A dual-stack IPv6 wildcard also covers IPv4.
    const v6 = a.family === 6 ? a : b;
    return (v6 === a ? wildA : wildB) && !v6.v6only;
  }

  private ephemeral(guest: string, proto: Proto): number {
    const k = `${guest}/${proto}`;
    let port = this.nextEphemeral.get(k) ?? EPHEMERAL_FIRST;
    for (let tries = 0; tries <= EPHEMERAL_LAST - EPHEMERAL_FIRST; tries++) {
      const p = port;
      port = port >= EPHEMERAL_LAST ? EPHEMERAL_FIRST : port + 1;
      if (!this.bindings.has(this.key(guest, proto, p))) {
        this.nextEphemeral.set(k, port);
        return p;
      }
    }
    throw new SysError(Errno.ADDRINUSE, 'no ephemeral port left');
  }
}

// Network grants: which outside addresses a guest may connect to, whether it
// may resolve names, and which of its ports the host can reach. One
// destination gets one decision: the destination and every grant are made
// canonical first (embedded IPv4 is IPv4, the gateway and its name are the
// host's loopback, names are the addresses Capsule resolved for them); then
// deny rules, then allow rules. Loopback, private, link-local and other
// non-public ranges are refused unless a grant lies inside that same range.

import { canonicalDestination, canonicalIp, HOST_GATEWAY, IPV4_EMBEDDING, parseIp, type Family } from '../core/net/address.js';
import { ipaddr } from '../core/net/ipaddr.js';
import { blockWithin, classify, embeddedIpv4, inBlock, type Block } from '../core/net/ranges.js';

export interface HostPattern {
  /** As written, for messages. */
  text: string;
  kind: 'ip' | 'cidr' | 'name';
  /** Canonical IP, or CIDR base, or lower-case name without a trailing dot. */
  value: string;
  prefix: number;
  family: 4 | 6 | undefined;
}

export interface ConnectGrant {
  text: string;
  /** What HOST stands for, canonical: usually one pattern; `localhost` is two, an IPv6 block embedding IPv4 also covers that IPv4 block. */
  hosts: HostPattern[];
  ports: [number, number];
}

export interface PublishRule {
  text: string;
  /** Host address to listen on (default 127.0.0.1). */
  hostAddress: string;
  hostPort: number;
  guestPort: number;
  /** Which guest (for systems of several); undefined: the only one. */
  guest?: string;
}

export interface NetworkPolicy {
  allowConnect: ConnectGrant[];
  denyConnect: ConnectGrant[];
  /** Resolve any name through the host. (Names in allowConnect may always be resolved.) */
  allowDns: boolean;
  publish: PublishRule[];
}

export function emptyNetworkPolicy(): NetworkPolicy {
  return { allowConnect: [], denyConnect: [], allowDns: false, publish: [] };
}

export class PolicyError extends Error {}

function parsePorts(text: string, whole: string): [number, number] {
  if (text === '*') return [0, 65535];
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) throw new PolicyError(`'${whole}': port '${text}' is not a number, a range like 8000-8080, or *`);
  const lo = Number(m[1]), hi = Number(m[2] ?? m[1]);
  if (lo > 65535 || hi > 65535 || lo > hi) throw new PolicyError(`'${whole}': port range '${text}' is out of 0-65535 or reversed`);
  return [lo, hi];
}

export function parseHostPattern(text: string, whole = text): HostPattern {
  const slash = text.lastIndexOf('/');
  if (slash !== -1) {
    // A block's base is kept in its own family (canonicalHosts adds the IPv4 it embeds).
    const parsed = parseIp(text.slice(0, slash));
    const base = parsed && { family: parsed.kind() === 'ipv4' ? 4 as const : 6 as const, ip: parsed.toString() };
    const prefix = Number(text.slice(slash + 1));
    const max = base?.family === 4 ? 32 : 128;
    if (!base || !/^\d{1,3}$/.test(text.slice(slash + 1)) || prefix > max) {
      throw new PolicyError(`'${whole}': '${text}' is not a valid CIDR block`);
    }
    return { text, kind: 'cidr', value: base.ip, prefix, family: base.family };
  }
  const ip = canonicalIp(text);
  if (ip) return { text, kind: 'ip', value: ip.ip, prefix: ip.family === 4 ? 32 : 128, family: ip.family };
  const name = text.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/.test(name)) {
    throw new PolicyError(`'${whole}': '${text}' is not a host name, an IP address or a CIDR block`);
  }
  return { text, kind: 'name', value: name, prefix: 0, family: undefined };
}

/**
 * The canonical patterns a written host stands for: the gateway (by name or
 * address) and `localhost` are the host's loopback; an IPv6 block that covers
 * a prefix embedding IPv4 addresses also covers those IPv4 addresses.
 */
function canonicalHosts(p: HostPattern): HostPattern[] {
  const ip = (value: string, family: Family): HostPattern => ({ text: p.text, kind: 'ip', value, prefix: family === 4 ? 32 : 128, family });
  if (p.kind === 'name') {
    if (p.value === HOST_GATEWAY.name) return [ip(HOST_GATEWAY.loopback, 4)];
    if (p.value === 'localhost') return [ip(HOST_GATEWAY.loopback, 4), ip('::1', 6)];
    return [p];
  }
  if (p.kind === 'ip') {
    const c = canonicalDestination(p.value)!;
    return [ip(c.ip, c.family)];
  }
  if (p.family !== 6) return [p];
  const out = [p];
  const own = toBlock(p);
  const add = (value: string, prefix: number): void => {
    if (!out.some((h) => h.value === value && h.prefix === prefix)) out.push({ text: p.text, kind: 'cidr', value, prefix, family: 4 });
  };
  for (const prefix of IPV4_EMBEDDING) {
    const e: Block = { family: 6, bytes: [...prefix, 0, 0, 0, 0], prefix: 96 };
    if (blockWithin(e, own)) add('0.0.0.0', 0);
    else if (blockWithin(own, e)) add(own.bytes.slice(12).join('.'), p.prefix - 96);
  }
  return out;
}

/** `HOST:PORT`, HOST a name, an IP (IPv6 in brackets) or a CIDR; PORT a number, a range or `*`. */
export function parseConnectGrant(text: string): ConnectGrant {
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new PolicyError(`'${text}': expected HOST:PORT (e.g. api.example.com:443, 10.0.0.0/8:*, [::1]:8080)`);
  }
  // IPv6 addresses go in brackets: [::1]:80, [fd00::]/8:*.
  const host = text.slice(0, colon).replace(/^\[([^\]]+)\]/, '$1');
  return { text, hosts: canonicalHosts(parseHostPattern(host, text)), ports: parsePorts(text.slice(colon + 1), text) };
}

/** `[HOST_ADDRESS:]HOST_PORT:GUEST_PORT`, as docker's -p; an IPv6 address goes in brackets: `[::1]:8080:80`. */
export function parsePublish(text: string, guest?: string): PublishRule {
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(text);
  const parts = v6 ? [v6[1]!, ...v6[2]!.split(':')] : text.split(':');
  if (parts.length < 2 || parts.length > 3 || (v6 && parts.length !== 3)) {
    const hint = !v6 && parts.length > 3 ? ' (an IPv6 address goes in brackets: [::1]:8080:80)' : '';
    throw new PolicyError(`'${text}': expected HOST_PORT:GUEST_PORT or HOST_ADDRESS:HOST_PORT:GUEST_PORT${hint}`);
  }
  const [address, hostPort, guestPort] = parts.length === 3 ? parts : ['127.0.0.1', ...parts];
  const ip = canonicalIp(address!);
  if (!ip) throw new PolicyError(`'${text}': '${address}' is not an IP address`);
  if (v6 && ip.family !== 6) throw new PolicyError(`'${text}': '${address}' is not an IPv6 address (only those go in brackets)`);
  const port = (p: string): number => {
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new PolicyError(`'${text}': '${p}' is not a port number`);
    return Number(p);
  };
  const rule: PublishRule = { text, hostAddress: ip.ip, hostPort: port(hostPort!), guestPort: port(guestPort!) };
  if (guest !== undefined) rule.guest = guest;
  return rule;
}

function toBlock(p: HostPattern): Block {
  return { family: p.family ?? 4, bytes: ipaddr().parse(p.value).toByteArray(), prefix: p.prefix };
}

function ipMatches(p: HostPattern, ip: string): boolean {
  if (p.kind === 'name') return false;
  return inBlock(ipaddr().parse(ip).toByteArray(), toBlock(p));
}

export interface ConnectDecision {
  allowed: boolean;
  reason: string;
  grant?: string;
  /** The canonical destination the decision is about (and where the host connects). */
  target?: { family: Family; ip: string };
}

const show = (family: Family, ip: string): string => (family === 6 ? `[${ip}]` : ip);

/**
 * The one decision for a destination outside the virtual network, for TCP
 * connect and UDP connect and send alike. `ipText` is any spelling; names
 * the layer resolved are passed in `namesOf` (by canonical address). Deny
 * rules match the destination or any IPv4 address it embeds; a non-public
 * destination needs an allow rule that lies inside its range.
 */
export function decideConnect(policy: NetworkPolicy, ipText: string, port: number, namesOf: (ip: string) => readonly string[]): ConnectDecision {
  const c = canonicalDestination(ipText);
  if (!c) return { allowed: false, reason: `'${ipText}' is not an address` };
  const { ip, family } = c;
  const target = { family, ip };
  const bytes = ipaddr().parse(ip).toByteArray();
  const names = namesOf(ip);
  const matches = (g: ConnectGrant, at: string, named: readonly string[]): boolean =>
    port >= g.ports[0] && port <= g.ports[1] &&
    g.hosts.some((h) => (h.kind === 'name' ? named.includes(h.value) : ipMatches(h, at)));

  const identities = [ip, ...embeddedIpv4(bytes)];
  const denied = policy.denyConnect.find((g) => identities.some((at) => matches(g, at, at === ip ? names : namesOf(at))));
  if (denied) return { allowed: false, reason: `denied by --deny-connect ${denied.text}`, grant: denied.text, target };

  const special = classify(bytes);
  for (const g of policy.allowConnect) {
    if (!matches(g, ip, names)) continue;
    // A non-public address needs a grant that lies inside its range: 0.0.0.0/0 does not open 10.0.0.0/8.
    if (special && !g.hosts.some((h) => h.kind !== 'name' && ipMatches(h, ip) && blockWithin(toBlock(h), special.block))) continue;
    return { allowed: true, reason: `allowed by --allow-connect ${g.text}`, grant: g.text, target };
  }
  const hint = names.length ? `${names[0]}:${port}` : `${show(family, ip)}:${port}`;
  if (!special) return { allowed: false, reason: `no grant allows it (--allow-connect ${hint} would)`, target };
  const what = special.via ? `${ip} embeds ${special.via}, a ${special.range} address` : `${ip} is a ${special.range} address`;
  return { allowed: false, reason: `${what}; only a grant naming it allows it (--allow-connect ${show(family, ip)}:${port})`, target };
}

/**
 * The grant that names loopback address `ip` and `port` exactly (not a block
 * or a port range that merely contains them): it sends the guest's
 * connections there to the host's loopback when the guest itself does not
 * listen there.
 */
export function hostLoopbackGrant(policy: NetworkPolicy, ipText: string, port: number): ConnectGrant | undefined {
  const c = canonicalIp(ipText);
  if (!c || classify(ipaddr().parse(c.ip).toByteArray())?.range !== 'loopback') return undefined;
  return policy.allowConnect.find((g) => g.ports[0] === port && g.ports[1] === port &&
    g.hosts.some((h) => h.kind === 'ip' && h.value === c.ip));
}

/** May the guest resolve `name` through the host? */
export function decideResolve(policy: NetworkPolicy, name: string): ConnectDecision {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (policy.allowDns) return { allowed: true, reason: 'allowed by --allow-dns', grant: '--allow-dns' };
  const g = policy.allowConnect.find((x) => x.hosts.some((h) => h.kind === 'name' && h.value === n));
  if (g) return { allowed: true, reason: `name granted by --allow-connect ${g.text}`, grant: g.text };
  return { allowed: false, reason: `resolving names is not granted (--allow-dns, or --allow-connect ${n}:PORT, would)` };
}

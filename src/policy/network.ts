// Network grants: which outside addresses a guest may connect to, whether it
// may resolve names, and which of its ports the host can reach. Addresses are
// compared parsed and canonical, never as strings; deny rules beat allow
// rules; loopback, private, link-local and other non-public ranges are
// refused unless a grant names an address in that same range.

import { canonicalIp, rangeOf } from '../layer/net/address.js';
import { ipaddr } from '../layer/net/ipaddr.js';

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
  host: HostPattern;
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
    const base = canonicalIp(text.slice(0, slash));
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

/** `HOST:PORT`, HOST a name, an IP (IPv6 in brackets) or a CIDR; PORT a number, a range or `*`. */
export function parseConnectGrant(text: string): ConnectGrant {
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new PolicyError(`'${text}': expected HOST:PORT (e.g. api.example.com:443, 10.0.0.0/8:*, [::1]:8080)`);
  }
  // IPv6 addresses go in brackets: [::1]:80, [fd00::]/8:*.
  const host = text.slice(0, colon).replace(/^\[([^\]]+)\]/, '$1');
  return { text, host: parseHostPattern(host, text), ports: parsePorts(text.slice(colon + 1), text) };
}

/** `[HOST_ADDRESS:]HOST_PORT:GUEST_PORT`, as docker's -p. */
export function parsePublish(text: string, guest?: string): PublishRule {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3) throw new PolicyError(`'${text}': expected HOST_PORT:GUEST_PORT or HOST_ADDRESS:HOST_PORT:GUEST_PORT`);
  const [address, hostPort, guestPort] = parts.length === 3 ? parts : ['127.0.0.1', ...parts];
  const ip = canonicalIp(address!);
  if (!ip) throw new PolicyError(`'${text}': '${address}' is not an IP address`);
  const port = (p: string): number => {
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new PolicyError(`'${text}': '${p}' is not a port number`);
    return Number(p);
  };
  const rule: PublishRule = { text, hostAddress: ip.ip, hostPort: port(hostPort!), guestPort: port(guestPort!) };
  if (guest !== undefined) rule.guest = guest;
  return rule;
}

function ipMatches(p: HostPattern, ip: string): boolean {
  if (p.kind === 'ip') return p.value === ip;
  if (p.kind !== 'cidr') return false;
  const a = ipaddr().parse(ip), base = ipaddr().parse(p.value);
  return a.kind() === base.kind() && a.match(base, p.prefix);
}

/** Looks a connection up: names resolved by the layer are passed in `namesOf`. */
export interface ConnectDecision {
  allowed: boolean;
  reason: string;
  grant?: string;
}

export function decideConnect(policy: NetworkPolicy, ipText: string, port: number, namesOf: (ip: string) => readonly string[]): ConnectDecision {
  const c = canonicalIp(ipText);
  if (!c) return { allowed: false, reason: `'${ipText}' is not an address` };
  const ip = c.ip;
  const names = namesOf(ip);
  const matches = (g: ConnectGrant): boolean =>
    port >= g.ports[0] && port <= g.ports[1] &&
    (g.host.kind === 'name' ? names.includes(g.host.value) : ipMatches(g.host, ip));

  const denied = policy.denyConnect.find(matches);
  if (denied) return { allowed: false, reason: `denied by --deny-connect ${denied.text}`, grant: denied.text };

  const range = rangeOf(ip);
  const special = range !== 'unicast';
  for (const g of policy.allowConnect) {
    if (!matches(g)) continue;
    // A non-public address needs a grant that itself names an address of that range.
    if (special && (g.host.kind === 'name' || rangeOf(g.host.value) !== range)) continue;
    return { allowed: true, reason: `allowed by --allow-connect ${g.text}`, grant: g.text };
  }
  const hint = names.length ? `${names[0]}:${port}` : (c.family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`);
  return {
    allowed: false,
    reason: special
      ? `${ip} is a ${range} address; only a grant naming it allows it (--allow-connect ${c.family === 6 ? `[${ip}]` : ip}:${port})`
      : `no grant allows it (--allow-connect ${hint} would)`,
  };
}

/** May the guest resolve `name` through the host? */
export function decideResolve(policy: NetworkPolicy, name: string): ConnectDecision {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (policy.allowDns) return { allowed: true, reason: 'allowed by --allow-dns', grant: '--allow-dns' };
  const g = policy.allowConnect.find((x) => x.host.kind === 'name' && x.host.value === n);
  if (g) return { allowed: true, reason: `name granted by --allow-connect ${g.text}`, grant: g.text };
  return { allowed: false, reason: `resolving names is not granted (--allow-dns, or --allow-connect ${n}:PORT, would)` };
}

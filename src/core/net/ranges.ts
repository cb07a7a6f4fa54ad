// Special-purpose address ranges (RFC 6890 and the IANA special-purpose
// registries): every address that is not public gets a name and the block it
// lies in. An IPv6 address that carries an IPv4 one it leads to (6to4,
// Teredo, NAT64 local-use) is judged by that address too: whatever the
// wrapping, a private or link-local IPv4 address stays non-public.

import { ipaddr } from './ipaddr.js';

export interface Block {
  family: 4 | 6;
  bytes: number[];
  prefix: number;
}

/** A non-public address: its range, the block a grant must lie in, and the IPv4 address that made it so, if embedded. */
export interface Special {
  range: string;
  block: Block;
  via?: string;
}

function block(cidr: string): Block {
  const [base, prefix] = ipaddr().parseCIDR(cidr);
  return { family: base.kind() === 'ipv4' ? 4 : 6, bytes: base.toByteArray(), prefix };
}

/** True if the first `prefix` bits of `bytes` are the block's. */
export function inBlock(bytes: readonly number[], b: Block): boolean {
  if (bytes.length !== b.bytes.length) return false;
  for (let bit = 0; bit < b.prefix; bit += 8) {
    const take = Math.min(8, b.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[bit >> 3]! ^ b.bytes[bit >> 3]!) & mask) !== 0) return false;
  }
  return true;
}

/** True if every address of `inner` is in `outer`. */
export function blockWithin(inner: Block, outer: Block): boolean {
  return inner.family === outer.family && inner.prefix >= outer.prefix && inBlock(inner.bytes, outer);
}

// First match wins: the more specific blocks come first.
const V4: [string, string][] = [
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrierGradeNat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'linkLocal'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'ietfProtocol'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];

const V6: [string, string][] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'nat64'],
  ['100::/64', 'discard'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:10::/28', 'orchid'],
  ['2001:20::/28', 'orchid'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'ietfProtocol'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'uniqueLocal'],
  ['fe80::/10', 'linkLocal'],
  ['fec0::/10', 'siteLocal'],
  ['ff00::/8', 'multicast'],
];

let tables: { v4: [Block, string][]; v6: [Block, string][]; teredo: Block; sixToFour: Block; nat64Local: Block; global: Block } | undefined;
function t(): NonNullable<typeof tables> {
  return (tables ??= {
    v4: V4.map(([c, r]) => [block(c), r]),
    v6: V6.map(([c, r]) => [block(c), r]),
    teredo: block('2001::/32'),
    sixToFour: block('2002::/16'),
    nat64Local: block('64:ff9b:1::/48'),
    global: block('2000::/3'),
  });
}

const v4Text = (b: readonly number[]): string => b.join('.');

/**
 * IPv4 addresses an IPv6 address leads to besides itself: 6to4's, Teredo's
 * server and (obfuscated) client, and NAT64 local-use at each RFC 6052
 * prefix length that fits in its /48. (Mapped, compatible and well-known
 * NAT64 forms are not here: canonicalIp turns them into IPv4 outright.)
 */
export function embeddedIpv4(bytes: readonly number[]): string[] {
  if (bytes.length !== 16) return [];
  const x = t();
  if (inBlock(bytes, x.sixToFour)) return [v4Text(bytes.slice(2, 6))];
  if (inBlock(bytes, x.teredo)) return [v4Text(bytes.slice(4, 8)), v4Text(bytes.slice(12, 16).map((v) => v ^ 0xff))];
  if (inBlock(bytes, x.nat64Local)) {
    return [[6, 7, 9, 10], [7, 9, 10, 11], [9, 10, 11, 12], [12, 13, 14, 15]].map((ix) => v4Text(ix.map((i) => bytes[i]!)));
  }
  return [];
}

/** The special range of a canonical address, or undefined if it is public. */
export function classify(bytes: readonly number[]): Special | undefined {
  const x = t();
  if (bytes.length === 16 && (inBlock(bytes, x.sixToFour) || inBlock(bytes, x.teredo))) {
    // 6to4 and Teredo are public only if what they embed is.
    for (const v4 of embeddedIpv4(bytes)) {
      const inner = classify(v4.split('.').map(Number));
      if (!inner) continue;
      const prefix = inBlock(bytes, x.sixToFour) ? 16 + inner.block.prefix : 128;
      return { range: inner.range, block: { family: 6, bytes: [...bytes], prefix }, via: v4 };
    }
    return undefined;
  }
  for (const [b, range] of bytes.length === 4 ? x.v4 : x.v6) if (inBlock(bytes, b)) return { range, block: b };
  if (bytes.length === 4 || inBlock(bytes, x.global)) return undefined;
  // Outside global unicast (2000::/3) nothing is assigned for public use.
  return { range: 'reserved', block: { family: 6, bytes: [...bytes], prefix: 8 } };
}

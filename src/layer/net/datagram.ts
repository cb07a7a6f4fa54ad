// Datagrams in a ring: each one a record [len:u32][family:u8][0]
// [port:u16][ip:16 bytes][payload], so boundaries and sender survive. A ring
// has one writer (see inbox.ts), and a record appears whole or not at all. In
// a send queue drained by the host the address is the destination instead.

import { bytesOf, fromBytes, type SockAddr } from '../../core/net/address.js';
import type { Ring } from '../ring.js';
import { perGuest } from '../../core/guest-scope.js';

export const DATAGRAM_HEADER = 24;
/** Largest datagram accepted, as for UDP over IPv4. */
export const MAX_DATAGRAM = 65507;

/**
 * The record's address part [family:u8][0][port:u16][ip:16], encoded once per
 * address object: a sender stamps the same one on every datagram of a route,
 * and parsing the address each time cost more than the copy.
 */
const encoded = new WeakMap<SockAddr, Uint8Array>();

function addressPart(addr: SockAddr): Uint8Array {
  let part = encoded.get(addr);
  if (!part) {
    part = new Uint8Array(DATAGRAM_HEADER - 4);
    part[0] = addr.family;
    new DataView(part.buffer).setUint16(2, addr.port, true);
    part.set(bytesOf(addr), 4);
    encoded.set(addr, part);
  }
  return part;
}

/** Appends a datagram from `from`; false if the queue has no room (the datagram is dropped, as UDP does). */
export function putDatagram(ring: Ring, from: SockAddr, payload: readonly Uint8Array[]): boolean {
  let len = 0;
  for (const p of payload) len += p.byteLength;
  const size = new Uint8Array(4);
  new DataView(size.buffer).setUint32(0, len, true);
  return ring.tryWriteUnit([size, addressPart(from), ...payload], DATAGRAM_HEADER + len);
}

export interface Received {
  /** Bytes copied into the buffers. */
  copied: number;
  /** The datagram's full length. */
  length: number;
  from: SockAddr;
}

/** Takes the next datagram into `bufs` (the rest of a long one is discarded); undefined if none. */
export function takeDatagram(ring: Ring, bufs: readonly Uint8Array[], peek = false): Received | undefined {
  if (ring.used < DATAGRAM_HEADER) return undefined;
  const header = new Uint8Array(DATAGRAM_HEADER);
  ring.peek(header);
  const length = new DataView(header.buffer).getUint32(0, true);
  const from = senderOf(header);
  let copied = 0;
  for (const b of bufs) {
    if (copied >= length) break;
    const n = Math.min(b.byteLength, length - copied);
    ring.peek(b.subarray(0, n), DATAGRAM_HEADER + copied);
    copied += n;
  }
  if (!peek) ring.consume(DATAGRAM_HEADER + length);
  return { copied, length, from };
}

/** The last sender decoded, reused while datagrams keep coming from it (decoding parses the address). */
let lastSender: { part: Uint8Array; addr: SockAddr } | undefined;
perGuest(() => { lastSender = undefined; });

function senderOf(header: Uint8Array): SockAddr {
  const part = header.subarray(4);
  if (lastSender && lastSender.part.every((b, i) => b === part[i])) return lastSender.addr;
  const family = part[0] === 6 ? 6 : 4;
  const addr = fromBytes(family, part.subarray(4, family === 4 ? 8 : 20), new DataView(part.buffer, part.byteOffset).getUint16(2, true));
  lastSender = { part: part.slice(), addr };
  return addr;
}

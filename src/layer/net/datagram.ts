// Datagrams in a ring: each one a record [len:u32][family:u8][0]
// [port:u16][ip:16 bytes][payload], so boundaries and sender survive. A ring
// has one writer (see inbox.ts), and a record appears whole or not at all. In
// a send queue drained by the host the address is the destination instead.

import { bytesOf, fromBytes, type SockAddr } from './address.js';
import type { Ring } from '../ring.js';

export const DATAGRAM_HEADER = 24;
/** Largest datagram accepted, as for UDP over IPv4. */
export const MAX_DATAGRAM = 65507;

/** Appends a datagram from `from`; false if the queue has no room (the datagram is dropped, as UDP does). */
export function putDatagram(ring: Ring, from: SockAddr, payload: readonly Uint8Array[]): boolean {
  let len = 0;
  for (const p of payload) len += p.byteLength;
  const header = new Uint8Array(DATAGRAM_HEADER);
  const view = new DataView(header.buffer);
  view.setUint32(0, len, true);
  header[4] = from.family;
  view.setUint16(6, from.port, true);
  header.set(bytesOf(from), 8);
  return ring.tryWriteUnit([header, ...payload], DATAGRAM_HEADER + len);
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
  const view = new DataView(header.buffer);
  const length = view.getUint32(0, true);
  const family = header[4] === 6 ? 6 : 4;
  const from = fromBytes(family, header.subarray(8, family === 4 ? 12 : 24), view.getUint16(6, true));
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

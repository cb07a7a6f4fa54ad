// The sealed snapshot file (format 1). Nothing of a guest is ever written in
// the clear: the file is a clear header that binds what the snapshot is
// for, then the payload in chunks, each sealed with AES-256-GCM.
//
//   "CAPSNAP\x01"  magic (8 bytes)
//   u32 BE         header length H (at most MAX_HEADER_BYTES)
//   H bytes        header: JSON (SnapshotHeader)
//   16 bytes       header tag: GCM over no plaintext, the magic, length and header as AAD, nonce 0
//   chunks:        u32 BE plaintext length L (<= header.chunkBytes), u8 final (0 or 1),
//                  L bytes ciphertext, 16 bytes tag; chunk i (from 1) has nonce i, AAD = its length and final byte
//
// The chunks' key is derived (HKDF-SHA-256) from the seal key, the header's
// random salt and the SHA-256 of the header bytes: a changed header field
// gives another key, so neither its tag nor any chunk opens. The nonces
// count chunks, so a chunk moved, dropped or repeated does not open; the
// last chunk is marked final, so a file cut at a chunk boundary is known as
// cut. The key check (an HMAC of a constant under the seal key) tells a
// wrong key from an altered file.

import crypto from 'node:crypto';

export const MAGIC = Buffer.from('CAPSNAP\x01', 'latin1');
export const FORMAT_VERSION = 1;
export const TAG_BYTES = 16;
export const CHUNK_HEAD_BYTES = 5;
export const MAX_HEADER_BYTES = 64 * 1024;
/** Plaintext per chunk: large enough to stream at disk speed, small enough that one is never much memory. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const MAX_CHUNK_BYTES = 16 << 20;
/**
 * Bytes per cipher call when sealing or opening a chunk: each call's output
 * is a fresh buffer, and one this small is recycled by the allocator and
 * stays in cache, where a call of megabytes faults its output in page by
 * page (a 4 MiB call runs several times slower).
 */
export const PIECE_BYTES = 64 * 1024;

/** One guest the snapshot holds, and the module it must be resumed with. */
export interface SealedGuest {
  name: string;
  /** SHA-256 (hex) of the module as the user gave it (before any preparation). */
  moduleSha256: string;
}

export interface SnapshotHeader {
  format: number;
  capsuleVersion: string;
  /** ISO 8601 time of sealing. */
  sealedAt: string;
  guests: SealedGuest[];
  /** A whole system (`capsule suspend --all`): a part per guest, then its network (api/system-suspend.ts). */
  system?: true;
  /** SHA-256 (hex) of the sealed policy, in its canonical form (the policy itself travels sealed). */
  policySha256: string;
  chunkBytes: number;
  /** 16 random bytes, base64: makes every file's key its own. */
  salt: string;
  /** HMAC-SHA-256 of KEY_CHECK under the seal key, first 16 bytes, base64. */
  keyCheck: string;
}

const KEY_CHECK = 'capsule seal key check v1';

export function keyCheck(sealKey: Uint8Array): string {
  return crypto.createHmac('sha256', sealKey).update(KEY_CHECK).digest().subarray(0, 16).toString('base64');
}

/** The chunks' key for this header (its exact bytes). */
export function fileKey(sealKey: Uint8Array, headerBytes: Uint8Array, salt: Uint8Array): Buffer {
  const info = Buffer.concat([Buffer.from('capsule snapshot v1 '), crypto.createHash('sha256').update(headerBytes).digest()]);
  return Buffer.from(crypto.hkdfSync('sha256', sealKey, salt, info, 32));
}

/** The 12-byte GCM nonce of chunk `index` (0 is the header's). */
export function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

export function chunkHead(length: number, final: boolean): Buffer {
  const head = Buffer.alloc(CHUNK_HEAD_BYTES);
  head.writeUInt32BE(length, 0);
  head[4] = final ? 1 : 0;
  return head;
}

/** The magic, the header length and the header: what the header tag authenticates. */
export function headerPrefix(headerBytes: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(headerBytes.byteLength, 0);
  return Buffer.concat([MAGIC, len, headerBytes]);
}

/** The canonical form of a JSON value (keys sorted), for digests that do not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  // Infinity (no limit) is not JSON: written as a string that says so.
  if (typeof value === 'number' && !Number.isFinite(value)) return JSON.stringify(String(value));
  return JSON.stringify(value) ?? 'null';
}

export function sha256Hex(data: Uint8Array | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

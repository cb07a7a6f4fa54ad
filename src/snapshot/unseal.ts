// Reading a sealed snapshot (format.ts): the header is authenticated before
// anything in it is believed, and every chunk before its plaintext is
// handed on; a changed byte, a cut, a moved chunk or the wrong key is one
// CapsuleError line (SNAPSHOT_REFUSED), never a partial read. Streamed: one
// chunk's plaintext is in memory at a time, and is zeroed once its reader is
// done; the file is read ahead of the decryption (read-ahead.ts).

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { releaseBuffer } from '../core/release-buffer.js';
import { CAPSULE_VERSION } from '../version.js';
import { ReadAhead } from './read-ahead.js';
import {
  CHUNK_HEAD_BYTES, FORMAT_VERSION, MAGIC, MAX_CHUNK_BYTES, MAX_HEADER_BYTES, PIECE_BYTES, TAG_BYTES, fileKey, headerPrefix, keyCheck, nonce,
  type SnapshotHeader,
} from './format.js';

const refused = (message: string): CapsuleError => new CapsuleError(ExitCode.SNAPSHOT_REFUSED, message);

function validHeader(v: unknown): v is SnapshotHeader {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  const hex64 = (s: unknown): boolean => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
  return Number.isSafeInteger(h['format']) && typeof h['capsuleVersion'] === 'string' && typeof h['sealedAt'] === 'string'
    && Array.isArray(h['guests']) && h['guests'].every((g) => typeof g === 'object' && g !== null
      && typeof (g as Record<string, unknown>)['name'] === 'string' && hex64((g as Record<string, unknown>)['moduleSha256']))
    && hex64(h['policySha256']) && Number.isSafeInteger(h['chunkBytes']) && (h['chunkBytes'] as number) >= 1
    && (h['chunkBytes'] as number) <= MAX_CHUNK_BYTES && typeof h['salt'] === 'string' && typeof h['keyCheck'] === 'string';
}

export class SnapshotReader {
  private index = 0;
  private finished = false;
  private readonly input: ReadAhead;
  /** The pieces given last: zeroed and freed here when the next are asked for, or the reader is closed. */
  private given: Buffer[] = [];

  private constructor(readonly file: string, private readonly fh: fs.FileHandle, readonly header: SnapshotHeader, private readonly key: Buffer, offset: number, syncReads: boolean) {
    this.input = new ReadAhead(fh, offset, syncReads);
  }

  /** Opens `file` and authenticates its header with `sealKey`; `syncReads`: see ReadAhead. */
  static async open(file: string, sealKey: Uint8Array, o: { syncReads?: boolean } = {}): Promise<SnapshotReader> {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(file, 'r');
    } catch {
      throw new CapsuleError(ExitCode.NO_INPUT, `snapshot '${file}' does not exist or cannot be read`);
    }
    try {
      const start = Buffer.alloc(MAGIC.length + 4);
      const got = (await fh.read(start, 0, start.length, 0)).bytesRead;
      if (got < start.length || !start.subarray(0, MAGIC.length).equals(MAGIC)) throw refused(`'${file}' is not a Capsule snapshot`);
      const headerLength = start.readUInt32BE(MAGIC.length);
      if (headerLength > MAX_HEADER_BYTES) throw refused(`'${file}' was altered: its header length is out of range`);
      const rest = Buffer.alloc(headerLength + TAG_BYTES);
      if ((await fh.read(rest, 0, rest.length, start.length)).bytesRead < rest.length) throw refused(`'${file}' is truncated: it ends inside its header`);
      const headerBytes = rest.subarray(0, headerLength);
      let parsed: unknown;
      try {
        parsed = JSON.parse(headerBytes.toString('utf8'));
      } catch {
        throw refused(`'${file}' was altered: its header is not readable`);
      }
      if (!validHeader(parsed)) throw refused(`'${file}' was altered: its header is not readable`);
      const header = parsed;
      const key = fileKey(sealKey, headerBytes, Buffer.from(header.salt, 'base64'));
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, nonce(0), { authTagLength: TAG_BYTES });
      decipher.setAAD(headerPrefix(headerBytes));
      decipher.setAuthTag(rest.subarray(headerLength));
      try {
        decipher.final();
      } catch {
        key.fill(0);
        throw refused(header.keyCheck === keyCheck(sealKey)
          ? `'${file}' was altered: its header does not authenticate`
          : `the seal key does not open '${file}' (it was sealed with another key, or its header was altered)`);
      }
      // Authentic, so these are what the sealing Capsule wrote.
      if (header.format !== FORMAT_VERSION) {
        key.fill(0);
        throw new CapsuleError(ExitCode.SNAPSHOT_MISMATCH, `'${file}' is snapshot format ${header.format}; this Capsule reads format ${FORMAT_VERSION}`);
      }
      if (header.capsuleVersion !== CAPSULE_VERSION) {
        key.fill(0);
        throw new CapsuleError(ExitCode.SNAPSHOT_MISMATCH, `'${file}' was sealed by Capsule ${header.capsuleVersion}; this is Capsule ${CAPSULE_VERSION}`);
      }
      return new SnapshotReader(file, fh, header, key, start.length + rest.length, o.syncReads === true);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * The next chunk's plaintext, authenticated, in pieces of at most
   * PIECE_BYTES (each a fresh buffer, which the caller may transfer);
   * undefined after the final one (when the file must also end). Nothing of
   * a chunk is handed on before its tag is checked. The pieces given before
   * are zeroed and freed now (their memory serves the next ones).
   */
  async nextPieces(): Promise<Buffer[] | undefined> {
    this.dropGiven();
    if (this.finished) return undefined;
    const n = this.index + 1;
    const head = Buffer.from(await this.input.take(CHUNK_HEAD_BYTES));
    if (head.length === 0) throw refused(`'${this.file}' is truncated: its final chunk is missing (after chunk ${this.index})`);
    if (head.length < CHUNK_HEAD_BYTES) throw refused(`'${this.file}' is truncated: it ends inside chunk ${n}`);
    const length = head.readUInt32BE(0);
    const final = head[4];
    if (length > this.header.chunkBytes || (final !== 0 && final !== 1)) throw refused(`'${this.file}' was altered: chunk ${n} is malformed`);
    const body = await this.input.take(length + TAG_BYTES);
    if (body.length < length + TAG_BYTES) throw refused(`'${this.file}' is truncated: it ends inside chunk ${n}`);
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, nonce(n), { authTagLength: TAG_BYTES });
    decipher.setAAD(head);
    decipher.setAuthTag(body.subarray(length));
    const pieces: Buffer[] = [];
    for (let off = 0; off < length; off += PIECE_BYTES) pieces.push(decipher.update(body.subarray(off, Math.min(length, off + PIECE_BYTES))));
    try {
      decipher.final();
    } catch {
      for (const p of pieces) p.fill(0);
      throw refused(`'${this.file}' was altered: chunk ${n} does not authenticate`);
    }
    this.index = n;
    if (final === 1) {
      this.finished = true;
      if ((await this.input.take(1)).length !== 0) {
        for (const p of pieces) p.fill(0);
        throw refused(`'${this.file}' was altered: it has data after its final chunk`);
      }
      if (length === 0) return undefined;
    }
    this.given = pieces;
    return pieces;
  }

  /** The next chunk's plaintext in one buffer, authenticated; undefined after the final one. The caller zeroes it when done. */
  async next(): Promise<Buffer | undefined> {
    const pieces = await this.nextPieces();
    if (pieces === undefined) return undefined;
    const whole = Buffer.concat(pieces);
    for (const p of pieces) {
      p.fill(0);
      releaseBuffer(p);
    }
    return whole;
  }

  /**
   * Passes over the next `count` chunks unread (another thread decrypted
   * them), reading only their heads; stops early at the final one. Their
   * heads are not authenticated here, and need not be: a wrong length sends
   * the reader to a place where the next chunk fails to authenticate (its
   * nonce is its index), and is refused there.
   */
  async skip(count: number): Promise<void> {
    let offset = this.input.offset;
    const head = Buffer.alloc(CHUNK_HEAD_BYTES);
    for (let i = 0; i < count && !this.finished; i++) {
      const n = this.index + 1;
      if ((await this.fh.read(head, 0, CHUNK_HEAD_BYTES, offset)).bytesRead < CHUNK_HEAD_BYTES) throw refused(`'${this.file}' is truncated: it ends inside chunk ${n}`);
      const length = head.readUInt32BE(0);
      if (length > this.header.chunkBytes || (head[4] !== 0 && head[4] !== 1)) throw refused(`'${this.file}' was altered: chunk ${n} is malformed`);
      offset += CHUNK_HEAD_BYTES + length + TAG_BYTES;
      this.index = n;
      this.finished = head[4] === 1;
    }
    this.input.seek(offset);
  }

  /** Where the next chunk starts: a part of a system (one guest) is read from there with seek(). */
  get position(): { offset: number; index: number } {
    return { offset: this.input.offset, index: this.index };
  }

  /** Goes to a chunk boundary position gave (the header already authenticated). */
  seek(p: { offset: number; index: number }): void {
    if (!Number.isSafeInteger(p.offset) || !Number.isSafeInteger(p.index) || p.offset < 0 || p.index < 0) throw refused(`'${this.file}': a part's place is out of range`);
    this.input.seek(p.offset);
    this.index = p.index;
    this.finished = false;
  }

  private dropGiven(): void {
    // A piece its reader transferred to another thread is left here detached, of length 0.
    for (const p of this.given) {
      if (p.byteLength === 0) continue;
      p.fill(0);
      releaseBuffer(p);
    }
    this.given = [];
  }

  async close(): Promise<void> {
    this.dropGiven();
    this.key.fill(0);
    await this.input.idle();
    await this.fh.close();
  }
}

// Reading a sealed snapshot (format.ts): the header is authenticated before
// anything in it is believed, and every chunk before its plaintext is
// handed on; a changed byte, a cut, a moved chunk or the wrong key is one
// CapsuleError line (SNAPSHOT_REFUSED), never a partial read. Streamed: one
// chunk is in memory at a time, and is zeroed once its reader is done.

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { CAPSULE_VERSION } from '../version.js';
import {
  CHUNK_HEAD_BYTES, FORMAT_VERSION, MAGIC, MAX_CHUNK_BYTES, MAX_HEADER_BYTES, TAG_BYTES, fileKey, headerPrefix, keyCheck, nonce,
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
  private offset = 0;
  private index = 0;
  private finished = false;

  private constructor(readonly file: string, private readonly fh: fs.FileHandle, readonly header: SnapshotHeader, private readonly key: Buffer) {}

  /** Opens `file` and authenticates its header with `sealKey`. */
  static async open(file: string, sealKey: Uint8Array): Promise<SnapshotReader> {
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
      const reader = new SnapshotReader(file, fh, header, key);
      reader.offset = start.length + rest.length;
      return reader;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private async readAt(length: number): Promise<Buffer> {
    const b = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = (await this.fh.read(b, got, length - got, this.offset + got)).bytesRead;
      if (n === 0) break;
      got += n;
    }
    this.offset += got;
    return got === length ? b : b.subarray(0, got);
  }

  /**
   * The next chunk's plaintext, authenticated; undefined after the final
   * one (when the file must also end). The caller zeroes it when done.
   */
  async next(): Promise<Buffer | undefined> {
    if (this.finished) return undefined;
    const n = this.index + 1;
    const head = await this.readAt(CHUNK_HEAD_BYTES);
    if (head.length === 0) throw refused(`'${this.file}' is truncated: its final chunk is missing (after chunk ${this.index})`);
    if (head.length < CHUNK_HEAD_BYTES) throw refused(`'${this.file}' is truncated: it ends inside chunk ${n}`);
    const length = head.readUInt32BE(0);
    const final = head[4];
    if (length > this.header.chunkBytes || (final !== 0 && final !== 1)) throw refused(`'${this.file}' was altered: chunk ${n} is malformed`);
    const body = await this.readAt(length + TAG_BYTES);
    if (body.length < length + TAG_BYTES) throw refused(`'${this.file}' is truncated: it ends inside chunk ${n}`);
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, nonce(n), { authTagLength: TAG_BYTES });
    decipher.setAAD(head);
    decipher.setAuthTag(body.subarray(length));
    const plain = decipher.update(body.subarray(0, length));
    try {
      decipher.final();
    } catch {
      plain.fill(0);
      throw refused(`'${this.file}' was altered: chunk ${n} does not authenticate`);
    }
    this.index = n;
    if (final === 1) {
      this.finished = true;
      if ((await this.readAt(1)).length !== 0) {
        plain.fill(0);
        throw refused(`'${this.file}' was altered: it has data after its final chunk`);
      }
      if (length === 0) return undefined;
    }
    return plain;
  }

  /** Where the next chunk starts: a part of a system (one guest) is read from there with seek(). */
  get position(): { offset: number; index: number } {
    return { offset: this.offset, index: this.index };
  }

  /** Goes to a chunk boundary position gave (the header already authenticated). */
  seek(p: { offset: number; index: number }): void {
    if (!Number.isSafeInteger(p.offset) || !Number.isSafeInteger(p.index) || p.offset < 0 || p.index < 0) throw refused(`'${this.file}': a part's place is out of range`);
    this.offset = p.offset;
    this.index = p.index;
    this.finished = false;
  }

  async close(): Promise<void> {
    this.key.fill(0);
    await this.fh.close();
  }
}

// Writing a sealed snapshot (format.ts): streamed, chunk by chunk, into a
// temporary file beside the target that is renamed over it only when the
// last chunk is written and synced, so a crash or a kill never leaves a
// partial snapshot under the name asked for. The enclave's own thread seals
// its guest (no copy of the memory ever crosses to the host thread) and
// encrypts while the file system writes what it encrypted before: the
// writes, and a sync now and then that starts the disk early, run on
// libuv's threads, a bounded amount of ciphertext at a time.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { releaseBuffer } from '../core/release-buffer.js';
import { CAPSULE_VERSION } from '../version.js';
import {
  DEFAULT_CHUNK_BYTES, FORMAT_VERSION, MAX_CHUNK_BYTES, PIECE_BYTES, TAG_BYTES, chunkHead, fileKey, headerPrefix, keyCheck, nonce,
  type SealedGuest, type SnapshotHeader,
} from './format.js';
import { TEMP_SUFFIX, removeStaleFor, tempPrefix } from './temp-files.js';

export interface SealOptions {
  guests: SealedGuest[];
  policySha256: string;
  chunkBytes?: number;
  /** A whole system's snapshot. */
  system?: boolean;
}

/**
 * A writer's place in its file, to hand to another thread that seals a part
 * of it (a guest of a system seals itself, on its own thread, into the one
 * system file; see api/system-suspend.ts). Only one thread writes at a time.
 */
export interface WriterHandoff {
  fd: number;
  /** The chunks' key (not the seal key): wiped by the thread that took it. */
  key: Uint8Array;
  chunkBytes: number;
  index: number;
  written: number;
}

/** Chunk `index` sealed: its head, its ciphertext in pieces, its tag. */
function sealChunk(key: Buffer, index: number, plain: Uint8Array, final: boolean): Buffer[] {
  const head = chunkHead(plain.byteLength, final);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce(index), { authTagLength: TAG_BYTES });
  cipher.setAAD(head);
  const out = [head];
  for (let off = 0; off < plain.byteLength; off += PIECE_BYTES) {
    out.push(cipher.update(plain.subarray(off, Math.min(plain.byteLength, off + PIECE_BYTES))));
  }
  cipher.final();
  out.push(cipher.getAuthTag());
  return out;
}

/**
 * A part of a file another thread holds open (SnapshotWriter.handoff()):
 * sealed chunk by chunk at the file's end, written synchronously (a part is
 * one guest's memory), never closed here.
 */
export class PartWriter {
  private readonly key: Buffer;
  private index: number;
  written: number;

  constructor(private readonly h: WriterHandoff) {
    this.key = Buffer.from(h.key);
    h.key.fill(0);
    this.index = h.index;
    this.written = h.written;
  }

  append(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.byteLength; off += this.h.chunkBytes) {
      const pieces = sealChunk(this.key, ++this.index, bytes.subarray(off, Math.min(bytes.byteLength, off + this.h.chunkBytes)), false);
      for (const p of pieces) {
        // Positioned writes: the owning writer writes by position too, so the descriptor's offset means nothing.
        for (let at = 0; at < p.byteLength;) at += fs.writeSync(this.h.fd, p, at, p.byteLength - at, this.written + at);
        this.written += p.byteLength;
        releaseBuffer(p);
      }
    }
  }

  /** Where the part ends, for the writer that goes on; the key is wiped. */
  finish(): { index: number; written: number } {
    this.key.fill(0);
    return { index: this.index, written: this.written };
  }
}

/** Ciphertext handed to the file system and not yet written, at most. */
const MAX_IN_FLIGHT_BYTES = 16 << 20;
/** Written bytes after which a data sync is started in the background (the final one then has little left). */
const SYNC_EVERY_BYTES = 32 << 20;

/** Temporary files of writers not yet finished, removed if the process exits first. */
const unfinished = new Set<string>();
let exitHookSet = false;
function removeUnfinished(): void {
  for (const f of unfinished) try { fs.rmSync(f, { force: true }); } catch { /* gone */ }
}

/** Writes all of `buffers` at `position` (a short write goes on where it stopped). */
function writeAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (bufs: Buffer[], at: number): void => {
      fs.writev(fd, bufs, at, (err, n) => {
        if (err) { reject(err); return; }
        let left = n;
        let i = 0;
        while (i < bufs.length && left >= bufs[i]!.byteLength) left -= bufs[i++]!.byteLength;
        if (i === bufs.length) { resolve(); return; }
        next([bufs[i]!.subarray(left), ...bufs.slice(i + 1)], at + n);
      });
    };
    next(buffers, position);
  });
}

const dataSync = (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
const fullSync = (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

export class SnapshotWriter {
  private readonly fd: number;
  private readonly key: Buffer;
  private readonly chunkBytes: number;
  private index = 0;
  private done = false;
  private renamed = false;
  private fdOpen = true;
  /** Writes handed to the file system, oldest first; none of them rejects (a failure is kept in `failure`). */
  private inFlight: { settled: Promise<void>; bytes: number }[] = [];
  private inFlightBytes = 0;
  private syncing: Promise<void> | undefined;
  private sinceSync = 0;
  private failure: Error | undefined;
  /** Bytes written so far (the file's size once finished). */
  written = 0;

  private constructor(readonly target: string, readonly temp: string, fd: number, key: Buffer, chunkBytes: number) {
    this.fd = fd;
    this.key = key;
    this.chunkBytes = chunkBytes;
  }

  /** Opens the temporary file and writes the header; the target is untouched until finish(). */
  static create(target: string, sealKey: Uint8Array, o: SealOptions): SnapshotWriter {
    const chunkBytes = o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) throw new RangeError(`chunk size ${chunkBytes} out of range`);
    const salt = crypto.randomBytes(16);
    const header: SnapshotHeader = {
      format: FORMAT_VERSION, capsuleVersion: CAPSULE_VERSION, sealedAt: new Date().toISOString(),
      guests: o.guests, ...(o.system === true ? { system: true as const } : {}), policySha256: o.policySha256, chunkBytes, salt: salt.toString('base64'), keyCheck: keyCheck(sealKey),
    };
    const headerBytes = Buffer.from(JSON.stringify(header));
    const key = fileKey(sealKey, headerBytes, salt);
    removeStaleFor(target);
    const temp = `${tempPrefix(target)}${crypto.randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
    if (!exitHookSet) { process.on('exit', removeUnfinished); exitHookSet = true; }
    // O_EXCL: never through a file or link someone placed there; 0600: the ciphertext is the user's alone.
    const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    unfinished.add(temp);
    const w = new SnapshotWriter(target, temp, fd, key, chunkBytes);
    try {
      const prefix = headerPrefix(headerBytes);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce(0));
      cipher.setAAD(prefix);
      cipher.final();
      const bytes = Buffer.concat([prefix, cipher.getAuthTag()]);
      for (let off = 0; off < bytes.length;) off += fs.writeSync(fd, bytes, off, bytes.length - off, off);
      w.written = bytes.length;
    } catch (err) {
      unfinished.delete(temp);
      fs.closeSync(fd);
      fs.rmSync(temp, { force: true });
      key.fill(0);
      throw err;
    }
    return w;
  }

  private sealChunk(plain: Uint8Array, final: boolean): Buffer[] {
    return sealChunk(this.key, ++this.index, plain, final);
  }

  /** Hands `pieces` to the file system at the end of the file; waits while too much is in flight. */
  private async put(pieces: Buffer[]): Promise<void> {
    let bytes = 0;
    for (const p of pieces) bytes += p.byteLength;
    // Once written, the ciphertext's memory serves the next chunk's (see core/release-buffer.ts).
    const settled = writeAll(this.fd, pieces, this.written).catch((err: Error) => { this.failure ??= err; })
      .finally(() => { for (const p of pieces) releaseBuffer(p); });
    this.written += bytes;
    this.inFlight.push({ settled, bytes });
    this.inFlightBytes += bytes;
    this.sinceSync += bytes;
    while (this.inFlightBytes > MAX_IN_FLIGHT_BYTES) await this.settleOldest();
    // Start the disk on what is written while the rest is encrypted.
    if (this.sinceSync >= SYNC_EVERY_BYTES && this.syncing === undefined && this.failure === undefined) {
      this.sinceSync = 0;
      this.syncing = dataSync(this.fd).catch((err: Error) => { this.failure ??= err; }).finally(() => { this.syncing = undefined; });
    }
    if (this.failure) throw this.failure;
  }

  private async settleOldest(): Promise<void> {
    const w = this.inFlight.shift()!;
    await w.settled;
    this.inFlightBytes -= w.bytes;
  }

  private async settleAll(): Promise<void> {
    while (this.inFlight.length > 0) await this.settleOldest();
    await this.syncing;
  }

  /** Seals `bytes` (a view of guest memory, say) straight from where they are, a chunk at a time. */
  async append(bytes: Uint8Array): Promise<void> {
    if (this.done) throw new Error('snapshot already finished');
    for (let off = 0; off < bytes.byteLength; off += this.chunkBytes) {
      await this.put(this.sealChunk(bytes.subarray(off, Math.min(bytes.byteLength, off + this.chunkBytes)), false));
    }
  }

  /** Where this writer stands, for a part written on another thread (see takeBack()); every write of its own done first. */
  async handoff(): Promise<WriterHandoff> {
    if (this.done) throw new Error('snapshot already finished');
    await this.settleAll();
    if (this.failure) throw this.failure;
    return { fd: this.fd, key: new Uint8Array(this.key), chunkBytes: this.chunkBytes, index: this.index, written: this.written };
  }

  /** The part written elsewhere is done: its chunks follow, and this writer goes on after them. */
  takeBack(part: { index: number; written: number }): void {
    if (part.index < this.index || part.written < this.written) throw new Error('a part went backwards');
    this.index = part.index;
    this.written = part.written;
  }

  /** Writes the final chunk, waits for every write, syncs once more, and renames the file into place. */
  async finish(): Promise<void> {
    if (this.done) throw new Error('snapshot already finished');
    await this.put(this.sealChunk(new Uint8Array(0), true));
    await this.settleAll();
    if (this.failure) throw this.failure;
    await fullSync(this.fd);
    this.done = true;
    this.key.fill(0);
    this.closeFd();
    fs.renameSync(this.temp, this.target);
    this.renamed = true;
    unfinished.delete(this.temp);
  }

  private closeFd(): void {
    if (!this.fdOpen) return;
    this.fdOpen = false;
    fs.closeSync(this.fd);
  }

  /** Drops the temporary file once no write is under way: nothing is left under either name. */
  async abort(): Promise<void> {
    if (this.renamed) return;
    this.done = true;
    this.key.fill(0);
    await this.settleAll();
    try { this.closeFd(); } catch { /* already closed */ }
    fs.rmSync(this.temp, { force: true });
    unfinished.delete(this.temp);
  }
}

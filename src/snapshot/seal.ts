// Writing a sealed snapshot (format.ts): streamed, chunk by chunk, into a
// temporary file beside the target that is renamed over it only when the
// last chunk is written and synced, so a crash or a kill never leaves a
// partial snapshot under the name asked for. Synchronous: it runs on the
// enclave's own thread, which seals its guest itself (no copy of the
// memory ever crosses to the host thread).

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CAPSULE_VERSION } from '../version.js';
import {
  DEFAULT_CHUNK_BYTES, FORMAT_VERSION, MAX_CHUNK_BYTES, TAG_BYTES, chunkHead, fileKey, headerPrefix, keyCheck, nonce,
  type SealedGuest, type SnapshotHeader,
} from './format.js';

export interface SealOptions {
  guests: SealedGuest[];
  policySha256: string;
  chunkBytes?: number;
  /** A whole system's snapshot. */
  system?: boolean;
}

/** Chunk `index`: its head, the ciphertext and the tag, each handed to `put`. */
function sealChunk(key: Buffer, index: number, plain: Uint8Array, final: boolean, put: (b: Uint8Array) => void): void {
  const head = chunkHead(plain.byteLength, final);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce(index), { authTagLength: TAG_BYTES });
  cipher.setAAD(head);
  put(head);
  put(cipher.update(plain));
  cipher.final();
  put(cipher.getAuthTag());
}

/**
 * A part of a file another thread holds open (handoff()): sealed chunk by
 * chunk as SnapshotWriter does, never closed here.
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

  private put(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.byteLength) off += fs.writeSync(this.h.fd, bytes, off, bytes.byteLength - off);
    this.written += bytes.byteLength;
  }

  write(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.byteLength; off += this.h.chunkBytes) {
      sealChunk(this.key, ++this.index, bytes.subarray(off, Math.min(bytes.byteLength, off + this.h.chunkBytes)), false, (b) => this.put(b));
    }
  }

  /** Where the part ends, for the writer that goes on; the key is wiped. */
  finish(): { index: number; written: number } {
    this.key.fill(0);
    return { index: this.index, written: this.written };
  }
}

/** Temporary files of writers not yet finished, removed if the process exits first. */
const unfinished = new Set<string>();
let exitHookSet = false;
function removeUnfinished(): void {
  for (const f of unfinished) try { fs.rmSync(f, { force: true }); } catch { /* gone */ }
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

export class SnapshotWriter {
  private readonly fd: number;
  private readonly key: Buffer;
  private readonly chunkBytes: number;
  private index = 0;
  private done = false;
  /** Bytes written so far (the file's size once closed). */
  written = 0;

  private constructor(readonly target: string, readonly temp: string, fd: number, key: Buffer, chunkBytes: number) {
    this.fd = fd;
    this.key = key;
    this.chunkBytes = chunkBytes;
  }

  /** Opens the temporary file and writes the header; the target is untouched until close(). */
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
    const dir = path.dirname(path.resolve(target));
    const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.partial`);
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
      w.put(prefix);
      w.put(cipher.getAuthTag());
    } catch (err) {
      w.abort();
      throw err;
    }
    return w;
  }

  private put(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.byteLength) off += fs.writeSync(this.fd, bytes, off, bytes.byteLength - off);
    this.written += bytes.byteLength;
  }

  private chunk(plain: Uint8Array, final: boolean): void {
    sealChunk(this.key, ++this.index, plain, final, (b) => this.put(b));
  }

  /** Seals `bytes` (a view of guest memory, say) straight from where they are, a chunk at a time. */
  write(bytes: Uint8Array): void {
    if (this.done) throw new Error('snapshot already closed');
    for (let off = 0; off < bytes.byteLength; off += this.chunkBytes) {
      this.chunk(bytes.subarray(off, Math.min(bytes.byteLength, off + this.chunkBytes)), false);
    }
  }

  /** Where this writer stands, for a part written on another thread (see takeBack()). */
  handoff(): WriterHandoff {
    if (this.done) throw new Error('snapshot already closed');
    return { fd: this.fd, key: new Uint8Array(this.key), chunkBytes: this.chunkBytes, index: this.index, written: this.written };
  }

  /** The part written elsewhere is done: its chunks follow, and this writer goes on after them. */
  takeBack(part: { index: number; written: number }): void {
    if (part.index < this.index || part.written < this.written) throw new Error('a part went backwards');
    this.index = part.index;
    this.written = part.written;
  }

  /** Writes the final chunk, syncs, and renames the file into place. */
  close(): void {
    if (this.done) return;
    this.chunk(new Uint8Array(0), true);
    this.done = true;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.key.fill(0);
    fs.renameSync(this.temp, this.target);
    unfinished.delete(this.temp);
  }

  /** Drops the temporary file: nothing is left under either name. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.key.fill(0);
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    fs.rmSync(this.temp, { force: true });
    unfinished.delete(this.temp);
  }
}

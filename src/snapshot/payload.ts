// What a sealed snapshot of one guest holds (the plaintext inside the chunks
// of format.ts): a JSON state record, then the guest's linear memory as runs
// of pages, all-zero pages skipped (so a snapshot is about the memory the
// guest actually used).
//
//   u32 BE  state length S, then S bytes of JSON (GuestState)
//   runs:   u32 BE first page, u32 BE page count, count * 64 KiB bytes
//   end:    u32 BE 0xffffffff, u32 BE 0

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { SnapshotReader } from './unseal.js';
import type { SealedSocket } from '../layer/net/sealed.js';

/** Where sealed bytes go: a whole snapshot's writer, or a part of a system's (seal.ts). */
export interface ChunkSink {
  write(bytes: Uint8Array): void;
}

export const PAGE = 65536;
const END = 0xffffffff;
/** The largest state record read (arguments, environment, descriptors), and the largest record (a system's network). */
const MAX_STATE_BYTES = 64 * 1024 * 1024;
export const MAX_RECORD_BYTES = MAX_STATE_BYTES;

/** A descriptor the guest had open, reopened by guest path on resume. */
export interface SealedFile {
  fd: number;
  /** The guest path it was opened by (under a mount). */
  path: string;
  /** The mount's guest path it was opened under. */
  mount: string;
  position: string;
  fdflags: number;
  oflags: number;
  rightsBase: string;
  rightsInheriting: string;
}

export interface SealedGuestState {
  name: string;
  args: string[];
  env: string[];
  /** Module: where it was loaded from (the default for resume), its SHA-256 as given, how it was prepared. */
  module: { path?: string; sha256: string; preparation: string };
  /** The sealed policy, canonical (a resume may not widen it). */
  policy: unknown;
  /** Exported mutable globals by index: type and value (i64 as a decimal string). */
  globals: { index: number; type: string; value: string | number }[];
  memoryPages: number;
  /** Where the unwound stack lies in memory (Asyncify's data structure). */
  stackData: number;
  /** Monotonic clock reading at sealing, ns (decimal): resumed clocks continue from it. */
  monotonicNs: string;
  /** Input the guest had not read yet (base64). */
  pendingInput: string;
  /** Preopened mount roots by fd, and files open below them. */
  mounts: { fd: number; guest: string }[];
  files: SealedFile[];
  /** A guest of a system: its socket descriptors (the entries themselves travel in the system's network record). */
  sockets?: SealedSocket[];
}

function u32pair(a: number, b: number): Uint8Array {
  const b8 = new Uint8Array(8);
  const v = new DataView(b8.buffer);
  v.setUint32(0, a);
  v.setUint32(4, b);
  return b8;
}

const ZERO_PAGE = Buffer.alloc(PAGE);

/** A native comparison (memcmp) per page: scanning 256 MiB costs milliseconds. */
function zeroPage(memory: ArrayBuffer, page: number): boolean {
  return Buffer.from(memory, page * PAGE, PAGE).equals(ZERO_PAGE);
}

/** Seals a length-prefixed JSON record (a system's network). */
export function writeRecord(w: ChunkSink, value: unknown): void {
  const json = Buffer.from(JSON.stringify(value));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, json.length);
  w.write(len);
  w.write(json);
  json.fill(0);
}

/** Seals `state` and `memory` (its pages straight from the guest's buffer, never copied). */
export function writeGuest(w: ChunkSink, state: SealedGuestState, memory: ArrayBuffer): void {
  const json = Buffer.from(JSON.stringify(state));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, json.length);
  w.write(len);
  w.write(json);
  json.fill(0);
  const pages = memory.byteLength / PAGE;
  for (let p = 0; p < pages;) {
    if (zeroPage(memory, p)) { p++; continue; }
    let q = p + 1;
    while (q < pages && !zeroPage(memory, q) && q - p < 256) q++;
    w.write(u32pair(p, q - p));
    w.write(new Uint8Array(memory, p * PAGE, (q - p) * PAGE));
    p = q;
  }
  w.write(u32pair(END, 0));
}

/** Reads a sealed guest's chunks as a byte stream. */
export class PayloadStream {
  private chunk: Buffer | undefined;
  private at = 0;

  constructor(private readonly reader: SnapshotReader) {}

  private damaged(what: string): CapsuleError {
    return new CapsuleError(ExitCode.SNAPSHOT_REFUSED, `'${this.reader.file}' is not a snapshot Capsule can resume: ${what}`);
  }

  /** Fills `dst` from the stream. */
  async readInto(dst: Uint8Array): Promise<void> {
    let off = 0;
    while (off < dst.byteLength) {
      if (this.chunk === undefined || this.at === this.chunk.length) {
        this.chunk?.fill(0);
        this.chunk = await this.reader.next();
        this.at = 0;
        if (this.chunk === undefined) throw this.damaged('it ends early');
      }
      const n = Math.min(dst.byteLength - off, this.chunk.length - this.at);
      dst.set(this.chunk.subarray(this.at, this.at + n), off);
      this.at += n;
      off += n;
    }
  }

  async u32pair(): Promise<[number, number]> {
    const b = new Uint8Array(8);
    await this.readInto(b);
    const v = new DataView(b.buffer);
    return [v.getUint32(0), v.getUint32(4)];
  }

  async state(): Promise<SealedGuestState> {
    const len = new Uint8Array(4);
    await this.readInto(len);
    const n = new DataView(len.buffer).getUint32(0);
    if (n > MAX_STATE_BYTES) throw this.damaged('its state record is too large');
    const json = new Uint8Array(n);
    await this.readInto(json);
    try {
      return JSON.parse(Buffer.from(json).toString('utf8')) as SealedGuestState;
    } catch {
      throw this.damaged('its state record is not readable');
    } finally {
      json.fill(0);
    }
  }

  /**
   * Writes the sealed pages into `memory` (already zeroed and grown to the
   * sealed size); then checks the file's end, unless this is one guest of a
   * system (`part`), whose memory ends at a chunk boundary.
   */
  async memory(memory: ArrayBuffer, part = false): Promise<void> {
    const pages = memory.byteLength / PAGE;
    for (;;) {
      const [first, count] = await this.u32pair();
      if (first === END) break;
      if (count === 0 || first + count > pages) throw this.damaged('a memory run is out of range');
      await this.readInto(new Uint8Array(memory, first * PAGE, count * PAGE));
    }
    if (part) {
      if (this.chunk !== undefined && this.at < this.chunk.length) throw this.damaged('a guest\'s memory ends inside a chunk');
      this.chunk?.fill(0);
      this.chunk = undefined;
    } else {
      await this.end();
    }
  }

  /** Reads past a guest's memory (of `pages` pages), authenticating it, keeping none of it. */
  async skipMemory(pages: number): Promise<void> {
    const scratch = new Uint8Array(PAGE);
    try {
      for (;;) {
        const [first, count] = await this.u32pair();
        if (first === END) break;
        if (count === 0 || first + count > pages) throw this.damaged('a memory run is out of range');
        for (let i = 0; i < count; i++) await this.readInto(scratch);
      }
      if (this.chunk !== undefined && this.at < this.chunk.length) throw this.damaged('a guest\'s memory ends inside a chunk');
      this.chunk?.fill(0);
      this.chunk = undefined;
    } finally {
      scratch.fill(0);
    }
  }

  /** A length-prefixed JSON record (a system's network). */
  async record<T>(): Promise<T> {
    const len = new Uint8Array(4);
    await this.readInto(len);
    const n = new DataView(len.buffer).getUint32(0);
    if (n > MAX_STATE_BYTES) throw this.damaged('a record is too large');
    const json = new Uint8Array(n);
    await this.readInto(json);
    try {
      return JSON.parse(Buffer.from(json).toString('utf8')) as T;
    } catch {
      throw this.damaged('a record is not readable');
    } finally {
      json.fill(0);
    }
  }

  /** Requires that nothing follows, and that the file ends with its authentic final chunk. */
  async end(): Promise<void> {
    if (this.chunk !== undefined && this.at < this.chunk.length) throw this.damaged('data follows its memory');
    this.chunk?.fill(0);
    if ((await this.reader.next()) !== undefined) throw this.damaged('data follows its memory');
  }
}

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
import type { SealedNetwork, SealedSocket } from '../layer/net/sealed.js';

/** Where sealed bytes go: a whole snapshot's writer, or a part of a system's written on a guest's thread (seal.ts). */
export interface ChunkSink {
  append(bytes: Uint8Array): Promise<void> | void;
}

export const PAGE = 65536;
const END = 0xffffffff;
/** The largest state record read (arguments, environment, descriptors), and the largest record (a system's network). */
const MAX_STATE_BYTES = 64 * 1024 * 1024;
export const MAX_RECORD_BYTES = MAX_STATE_BYTES;

/** A file or directory the guest had open below a mount, reopened by guest path on resume. */
export interface SealedOpenFile {
  fd: number;
  kind: 'file' | 'directory';
  /** The guest path it was opened by, normalised (under its mount). */
  path: string;
  /** The guest path of the mount it was opened under. */
  mount: string;
  /** The file position (decimal). */
  position: string;
  fdflags: number;
  /** As path_open had them (on resume only O_DIRECTORY is asked again: nothing is created or truncated). */
  oflags: number;
  /** Whether a symlink as the last component was followed. */
  follow: boolean;
  rightsBase: string;
  rightsInheriting: string;
  /** WASIX per-number flags (close-on-exec), when set. */
  flagsExt?: number;
  dupOf?: undefined;
}

/** Another number for a descriptor sealed at `dupOf` (fd_dup), or a mount or stream kept at its own number with flags. */
export interface SealedDuplicate {
  fd: number;
  dupOf: number;
  flagsExt?: number;
}

export type SealedFile = SealedOpenFile | SealedDuplicate;

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
  /** Preopened mount roots by fd, and files and directories open below them. */
  mounts: { fd: number; guest: string }[];
  files: SealedFile[];
  /** Standard streams and mount descriptors the guest had closed. */
  closed?: number[];
  /** The working directory Capsule kept for the guest (getcwd, chdir). */
  cwd?: string;
  /** What the guest had used of each mount's quota (a resume goes on counting from there). */
  quotaUsed?: { mount: string; bytes: number; entries: number }[];
  /** A guest of a system: its socket descriptors (the entries themselves travel in the system's network record). */
  sockets?: SealedSocket[];
  /** A lone guest sealed with its sockets: its layer's network (a system's travels in the system's record instead). */
  network?: SealedNetwork;
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

/** Seals a length-prefixed JSON record (a guest's state, a system's network), its plaintext zeroed once handed on. */
export async function writeRecord(w: ChunkSink, value: unknown): Promise<void> {
  const json = Buffer.from(JSON.stringify(value));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, json.length);
  try {
    await w.append(len);
    await w.append(json);
  } finally {
    json.fill(0);
  }
}

/** Seals `state` and `memory` (its pages straight from the guest's buffer, never copied). */
export async function writeGuest(w: ChunkSink, state: SealedGuestState, memory: ArrayBuffer): Promise<void> {
  await writeRecord(w, state);
  const pages = memory.byteLength / PAGE;
  for (let p = 0; p < pages;) {
    if (zeroPage(memory, p)) { p++; continue; }
    let q = p + 1;
    while (q < pages && !zeroPage(memory, q) && q - p < 256) q++;
    await w.append(u32pair(p, q - p));
    await w.append(new Uint8Array(memory, p * PAGE, (q - p) * PAGE));
    p = q;
  }
  await w.append(u32pair(END, 0));
}

/**
 * Where a guest's chunks come from, each authenticated before it is given:
 * the file itself (SnapshotReader), or the ring a resume's unsealing thread
 * fills (StagedChunks). `idle`, if given, is work to do while a chunk is
 * awaited (false when there is none left).
 */
export interface ChunkSource {
  readonly file: string;
  /**
   * The pieces given before are no longer valid once this is called again:
   * the source zeroes them (itself, or on another thread), as it does the
   * last ones when it is closed.
   */
  nextPieces(idle?: () => boolean): Promise<Buffer[] | undefined>;
}

/** Bytes of a destination touched ahead per idle step (its pages faulted in before the copy reaches them). */
const TOUCH_BYTES = 64 * 1024;
const OS_PAGE = 4096;

/** Reads a sealed guest's chunks as a byte stream. */
export class PayloadStream {
  /** The current chunk's plaintext pieces, and where reading stands in them. */
  private pieces: Buffer[] = [];
  private piece = 0;
  private at = 0;
  private ended = false;

  constructor(private readonly reader: ChunkSource) {}

  private damaged(what: string): CapsuleError {
    return new CapsuleError(ExitCode.SNAPSHOT_REFUSED, `'${this.reader.file}' is not a snapshot Capsule can resume: ${what}`);
  }

  /** Reads the next chunk (false after the last); the source zeroes the one before. */
  private async nextChunk(idle?: () => boolean): Promise<boolean> {
    // Let go before the next is asked for: the source zeroes and frees these buffers then.
    this.pieces = [];
    this.piece = 0;
    this.at = 0;
    const next = this.ended ? undefined : await this.reader.nextPieces(idle);
    this.pieces = next ?? [];
    this.ended = next === undefined;
    this.piece = 0;
    this.at = 0;
    return !this.ended;
  }

  /** Fills `dst` from the stream (guest memory, say: each piece of plaintext is copied once, straight there). */
  async readInto(dst: Uint8Array): Promise<void> {
    let off = 0;
    // While a chunk is awaited, the pages of `dst` not written yet are faulted in (a write
    // of 0 each: the copy overwrites them), so that the copy later finds them present.
    let touched = 0;
    const touchAhead = (): boolean => {
      touched = Math.max(touched, off);
      if (touched >= dst.byteLength) return false;
      const end = Math.min(dst.byteLength, touched + TOUCH_BYTES);
      for (let i = touched; i < end; i += OS_PAGE) dst[i] = 0;
      touched = end;
      return true;
    };
    while (off < dst.byteLength) {
      let p = this.pieces[this.piece];
      if (p !== undefined && this.at === p.length) {
        this.piece++;
        this.at = 0;
        p = this.pieces[this.piece];
      }
      if (p === undefined) {
        if (!(await this.nextChunk(touchAhead))) throw this.damaged('it ends early');
        continue;
      }
      const n = Math.min(dst.byteLength - off, p.length - this.at);
      dst.set(p.subarray(this.at, this.at + n), off);
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

  /** A guest's state record (writeGuest()). */
  state(): Promise<SealedGuestState> {
    return this.json<SealedGuestState>('its state record');
  }

  /** A length-prefixed JSON record (a system's network; writeRecord()). */
  record<T>(): Promise<T> {
    return this.json<T>('a record');
  }

  /** Length-prefixed JSON, its plaintext zeroed once parsed; `what` names it in the refusal. */
  private async json<T>(what: string): Promise<T> {
    const len = new Uint8Array(4);
    await this.readInto(len);
    const n = new DataView(len.buffer).getUint32(0);
    if (n > MAX_STATE_BYTES) throw this.damaged(`${what} is too large`);
    const json = new Uint8Array(n);
    await this.readInto(json);
    try {
      return JSON.parse(Buffer.from(json).toString('utf8')) as T;
    } catch {
      throw this.damaged(`${what} is not readable`);
    } finally {
      json.fill(0);
    }
  }

  /**
   * Writes the sealed pages into `memory` (grown to the sealed size), then
   * checks the file's end, unless this is one guest of a system (`part`),
   * whose memory ends at a chunk boundary. Pages the snapshot does not hold are all zero:
   * below `dirtyPages` (what the module's start wrote, its data segments)
   * they are zeroed here; above it they are fresh memory, zero already, and
   * are not touched (so never faulted in).
   */
  async memory(memory: ArrayBuffer, dirtyPages = memory.byteLength / PAGE, part = false): Promise<void> {
    const pages = memory.byteLength / PAGE;
    const zero = (from: number, to: number): void => {
      if (Math.min(to, dirtyPages) > from) new Uint8Array(memory, from * PAGE, (Math.min(to, dirtyPages) - from) * PAGE).fill(0);
    };
    let next = 0;
    for (;;) {
      const [first, count] = await this.u32pair();
      if (first === END) break;
      if (count === 0 || first + count > pages) throw this.damaged('a memory run is out of range');
      if (first < next) throw this.damaged('its memory runs are out of order');
      zero(next, first);
      await this.readInto(new Uint8Array(memory, first * PAGE, count * PAGE));
      next = first + count;
    }
    zero(next, pages);
    if (part) this.endOfPart();
    else await this.end();
  }

  /** A guest's part of a system ends with its chunk: nothing of that chunk may be left. */
  private endOfPart(): void {
    const left = this.pieces.slice(this.piece).some((p, i) => (i === 0 ? this.at < p.length : p.length > 0));
    this.wipe();
    this.piece = 0;
    this.at = 0;
    if (left) throw this.damaged('a guest\'s memory ends inside a chunk');
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
      this.endOfPart();
    } finally {
      scratch.fill(0);
    }
  }

  /** Zeroes the plaintext still held (a stream read only in part, or given up on an error). */
  wipe(): void {
    for (const p of this.pieces) p.fill(0);
    this.pieces = [];
  }

  /** Requires that nothing follows, and that the file ends with its authentic final chunk. */
  async end(): Promise<void> {
    const left = this.pieces.slice(this.piece).some((p, i) => (i === 0 ? this.at < p.length : p.length > 0));
    if (left) {
      for (const p of this.pieces) p.fill(0);
      throw this.damaged('data follows its memory');
    }
    if (await this.nextChunk()) {
      for (const p of this.pieces) p.fill(0);
      throw this.damaged('data follows its memory');
    }
  }
}

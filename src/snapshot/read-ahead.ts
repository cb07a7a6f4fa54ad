// Sequential reading of a snapshot file with the next block already on its
// way: while the enclave thread decrypts what it has, a libuv thread reads
// what follows, so reading costs no time of its own (from the page cache, or
// from a disk when the snapshot comes from elsewhere). A small first block
// serves a reader that wants only the state record; then two blocks take
// turns. They only ever hold ciphertext.

import { readSync } from 'node:fs';
import type fs from 'node:fs/promises';

/** Bytes of the first read: the state record and small snapshots, without reading much more than they are. */
const FIRST_BLOCK_BYTES = 256 * 1024;
/** Bytes per read after it: a few chunks, so few reads and few chunks split between two blocks. */
const BLOCK_BYTES = 4 << 20;

interface Block { buf: Buffer; start: number; length: number }

export class ReadAhead {
  private current: Block;
  private spare: Buffer | undefined;
  private pending: Promise<Block> | undefined;
  private blocks = 0;
  /** File offset of the next byte take() gives. */
  private pos: number;
  private scratch = Buffer.alloc(0);
  /** Reads ahead that a seek made useless, awaited before the file is closed. */
  private readonly abandoned: Promise<Block>[] = [];

  /**
   * `sync`: each block is read on the calling thread, not by libuv's: for a
   * thread that does nothing but read and decrypt (a resume's unsealing
   * thread), where a hop to another thread only adds one more thread
   * wanting a core, and waits for it.
   */
  constructor(private readonly fh: fs.FileHandle, offset: number, private readonly sync = false) {
    this.pos = offset;
    this.current = { buf: Buffer.alloc(0), start: offset, length: 0 };
  }

  private async fill(buf: Buffer, start: number): Promise<Block> {
    let length = 0;
    while (length < buf.length) {
      const n = this.sync
        ? readSync(this.fh.fd, buf, length, buf.length - length, start + length)
        : (await this.fh.read(buf, length, buf.length - length, start + length)).bytesRead;
      if (n === 0) break;
      length += n;
    }
    return { buf, start, length };
  }

  /** A block's buffer: the one not in use if it is full-sized, else a new one. */
  private blockBuffer(): Buffer {
    const size = this.blocks === 0 ? FIRST_BLOCK_BYTES : BLOCK_BYTES;
    const b = this.spare !== undefined && this.spare.length >= size ? this.spare : Buffer.allocUnsafeSlow(size);
    this.spare = undefined;
    return b;
  }

  /**
   * Moves to the next block (read ahead before, or now). Once a second
   * block is needed the file is being streamed: each next one is read ahead.
   */
  private async advance(): Promise<void> {
    const next = this.current.start + this.current.length;
    const block = await (this.pending ?? this.fill(this.blockBuffer(), next));
    this.pending = undefined;
    if (this.current.buf.length > 0) this.spare = this.current.buf;
    this.current = block;
    this.blocks++;
    if (this.blocks >= 2 && block.length === block.buf.length) {
      this.pending = this.fill(this.blockBuffer(), block.start + block.length);
      // A failed read is reported to whoever takes its bytes, not as an unhandled rejection meanwhile.
      this.pending.catch(() => undefined);
    }
  }

  /**
   * The next `length` bytes (fewer only where the file ends), as a view
   * valid until the next call.
   */
  async take(length: number): Promise<Buffer> {
    const end = (): number => this.current.start + this.current.length;
    if (this.pos + length <= end()) {
      const at = this.pos - this.current.start;
      this.pos += length;
      return this.current.buf.subarray(at, at + length);
    }
    // Split between blocks (or longer than one): gathered into a buffer of its own.
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafeSlow(Math.max(length, BLOCK_BYTES));
    let got = 0;
    for (;;) {
      const at = this.pos - this.current.start;
      const n = Math.min(length - got, this.current.length - at);
      if (n > 0) {
        this.current.buf.copy(this.scratch, got, at, at + n);
        got += n;
        this.pos += n;
      }
      if (got === length) break;
      await this.advance();
      if (this.current.length === 0) break; // the file ends here
    }
    return this.scratch.subarray(0, got);
  }

  /** File offset of the next byte take() gives. */
  get offset(): number {
    return this.pos;
  }

  /** Reads on from `offset` (a part of a system); a read ahead under way is let finish, unused. */
  seek(offset: number): void {
    if (this.pending !== undefined) this.abandoned.push(this.pending);
    this.pending = undefined;
    this.pos = offset;
    this.current = { buf: Buffer.alloc(0), start: offset, length: 0 };
    this.blocks = 0;
  }

  /** Resolves once no read is under way (before the file is closed). */
  async idle(): Promise<void> {
    await Promise.all([this.pending, ...this.abandoned].map((p) => p?.catch(() => undefined)));
  }
}

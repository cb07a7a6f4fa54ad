// fd_readdir's view of a directory: the entry at each cookie (0 ".", 1 "..",
// then the directory's own entries in the order its stream gives them),
// without ever holding a whole listing. Each directory descriptor reads
// through a stream of its own; a read at the cookie where the last one
// stopped (the usual case) goes on from there, one cut short resumes at the
// entry kept from before, a read at cookie 0 starts afresh (rewinddir), and
// any other cookie restarts the stream and skips to it. One enclave keeps at most MAX_OPEN_STREAMS streams open: the
// least recently read one is closed past that, and restarted if read again.
// So whatever a guest does, listings hold at most
// MAX_OPEN_STREAMS x (STREAM_BUFFER_ENTRIES + 1) entries, whatever the
// number of descriptors or entries.

import { Filetype } from '../../core/witx.js';
import type { DirEntry, DirNode, DirStream } from './backend.js';

/** Open directory streams per enclave (each also holds one host descriptor). */
export const MAX_OPEN_STREAMS = 16;
/** Entries a host stream buffers (Node's default): with 255-byte names, about 20 KiB a stream. */
export const STREAM_BUFFER_ENTRIES = 32;

/** The streams of one enclave, least recently read first. */
export class Listings {
  private readonly open = new Set<Listing>();

  /** Marks `l` as read now, closing the stream least recently read if there are too many. */
  touch(l: Listing): void {
    this.open.delete(l);
    this.open.add(l);
    if (this.open.size > MAX_OPEN_STREAMS) {
      const oldest = this.open.values().next().value!;
      oldest.close();
    }
  }

  forget(l: Listing): void {
    this.open.delete(l);
  }

  /** Streams open now (for tests). */
  get size(): number {
    return this.open.size;
  }
}

/** One directory descriptor's position in its listing. */
export class Listing {
  private stream: DirStream | undefined;
  /** The cookie of the entry the stream gives next. */
  private position = 2n;
  private ended = false;
  /** The entry read last, kept so that a call cut short can go on from it. */
  private last: { cookie: bigint; entry: DirEntry } | undefined;

  constructor(private readonly dir: DirNode, private readonly pool: Listings) {}

  /** The entry at `cookie`, or undefined past the end. */
  at(cookie: bigint): DirEntry | undefined {
    if (cookie < 2n) {
      // Reading from the start is rewinddir(3): what follows is listed afresh.
      if (cookie === 0n) this.close();
      return { name: cookie === 0n ? '.' : '..', filetype: Filetype.DIRECTORY, ino: this.dir.stat().ino };
    }
    if (this.last?.cookie === cookie) return this.last.entry;
    if (this.stream === undefined || cookie < this.position) this.restart();
    this.pool.touch(this);
    const stream = this.stream!;
    while (this.position < cookie && !this.ended) {
      if (stream.skip()) this.position++;
      else this.ended = true;
    }
    if (this.ended) return undefined;
    const entry = stream.next();
    if (entry === undefined) {
      this.ended = true;
      return undefined;
    }
    this.last = { cookie, entry };
    this.position++;
    return entry;
  }

  private restart(): void {
    this.stream?.close();
    this.stream = this.dir.list();
    this.position = 2n;
    this.ended = false;
  }

  /** Closes the stream (a later read restarts it). */
  close(): void {
    this.stream?.close();
    this.stream = undefined;
    this.last = undefined;
    this.pool.forget(this);
  }
}

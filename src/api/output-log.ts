// The recent output of one guest, kept for `capsule logs`: a bounded tail of
// what it wrote to stdout and stderr (the oldest bytes go first), and the
// readers following it live.

/** Bytes of recent output kept per guest. */
export const LOG_TAIL_BYTES = 256 * 1024;

export interface LogChunk {
  fd: 1 | 2;
  bytes: Buffer;
}

export interface LogFollower {
  chunk(c: LogChunk): void;
  /** The guest has ended: nothing more will come. */
  end(): void;
}

export class OutputLog {
  private readonly chunks: LogChunk[] = [];
  private size = 0;
  private readonly followers = new Set<LogFollower>();
  private done = false;

  constructor(private readonly maxBytes = LOG_TAIL_BYTES) {}

  get ended(): boolean {
    return this.done;
  }

  /** Keeps a copy of `bytes` (the caller's buffer may be reused) and hands it to every follower. */
  append(fd: 1 | 2, bytes: Uint8Array): void {
    if (this.done || bytes.byteLength === 0) return;
    let copy = Buffer.from(bytes);
    if (copy.length > this.maxBytes) copy = copy.subarray(copy.length - this.maxBytes);
    const c = { fd, bytes: copy };
    this.chunks.push(c);
    this.size += copy.length;
    while (this.size > this.maxBytes) {
      const first = this.chunks[0]!;
      const over = this.size - this.maxBytes;
      if (first.bytes.length <= over) {
        this.chunks.shift();
        this.size -= first.bytes.length;
      } else {
        first.bytes = first.bytes.subarray(over);
        this.size -= over;
      }
    }
    for (const f of this.followers) f.chunk(c);
  }

  /** What is kept, oldest first. */
  recent(): LogChunk[] {
    return [...this.chunks];
  }

  /** `f` hears of every later chunk and of the end (at once if the guest has ended); returns how to stop following. */
  follow(f: LogFollower): () => void {
    if (this.done) {
      f.end();
      return () => {};
    }
    this.followers.add(f);
    return () => { this.followers.delete(f); };
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    for (const f of this.followers) f.end();
    this.followers.clear();
  }
}

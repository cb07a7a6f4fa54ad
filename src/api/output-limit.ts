// The output limit (--max-output): the first half of the allowance is passed
// on as the guest writes it; after that only the most recent bytes are kept
// (the other half, but never more than MAX_TAIL_BYTES: the tail is held in
// the host's memory until the guest ends), and what falls out between is
// cut. At the end the user sees the head, a marker saying how much was cut,
// and the tail: never a silent truncation. A guest that writes twice its
// allowance is stopped.

/** Most of the tail held in memory, whatever the limit: part of Capsule's documented constant. */
export const MAX_TAIL_BYTES = 4 * 1024 * 1024;

/** Pieces of one stream in the tail window are merged up to this size. */
const TAIL_MERGE = 64 * 1024;

/** What a dropped tail piece leaves behind until the array is compacted. */
const DROPPED = { fd: 0, bytes: new Uint8Array(0), length: 0 };

export type Deliver = (fd: number, bytes: Uint8Array) => void | Promise<void>;

export class OutputLimiter {
  private delivered = 0;
  private total = 0;
  /** The tail window: pieces from `tailStart` on (a queue without O(n) shifts). */
  private tail: { fd: number; bytes: Uint8Array; length: number }[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  /** Bytes dropped between head and tail. */
  cut = 0;
  /** The guest wrote more than twice the limit (it is stopped, or had already ended). */
  exceeded = false;

  constructor(private readonly limit: number, private readonly deliver: Deliver, private readonly onExceeded: () => void) {}

  /** Takes `bytes` over (the output pump hands each chunk on once): the tail keeps it without a copy. */
  write(fd: number, bytes: Uint8Array): void | Promise<void> {
    if (this.limit <= 0) return this.deliver(fd, bytes);
    this.total += bytes.byteLength;
    const headRoom = Math.floor(this.limit / 2) - this.delivered;
    let pending: void | Promise<void> = undefined;
    if (headRoom > 0) {
      const head = bytes.subarray(0, headRoom);
      this.delivered += head.byteLength;
      pending = this.deliver(fd, head);
      bytes = bytes.subarray(head.byteLength);
    }
    if (bytes.byteLength > 0) this.keep(fd, bytes);
    if (this.total > 2 * this.limit && !this.exceeded) {
      this.exceeded = true;
      this.onExceeded();
    }
    return pending;
  }

  /** Adds to the tail window, dropping its oldest bytes beyond half the allowance. */
  private keep(fd: number, bytes: Uint8Array): void {
    const room = Math.min(this.limit - Math.floor(this.limit / 2), MAX_TAIL_BYTES);
    if (bytes.byteLength >= room) {
      // The piece alone fills the window: everything before it falls out.
      for (let i = this.tailStart; i < this.tail.length; i++) this.cut += this.tail[i]!.length;
      this.cut += bytes.byteLength - room;
      this.tail = [{ fd, bytes: bytes.subarray(bytes.byteLength - room), length: room }];
      this.tailStart = 0;
      this.tailBytes = room;
      return;
    }
    const last = this.tail.length > this.tailStart ? this.tail[this.tail.length - 1]! : undefined;
    // At most a quarter of the window per piece: the piece being trimmed is never the one merged into.
    const mergeLimit = Math.min(TAIL_MERGE, Math.floor(room / 4));
    if (last && last.fd === fd && last.length + bytes.byteLength <= mergeLimit) {
      // Small pieces of one stream are merged (into a buffer that doubles), so
      // a flood of 1-byte writes keeps few pieces at linear cost.
      if (last.length + bytes.byteLength > last.bytes.byteLength) {
        const grown = new Uint8Array(Math.min(mergeLimit, Math.max(2 * last.bytes.byteLength, last.length + bytes.byteLength)));
        grown.set(last.bytes.subarray(0, last.length));
        last.bytes = grown;
      }
      last.bytes.set(bytes, last.length);
      last.length += bytes.byteLength;
    } else {
      this.tail.push({ fd, bytes, length: bytes.byteLength });
    }
    this.tailBytes += bytes.byteLength;
    while (this.tailBytes > room) {
      const first = this.tail[this.tailStart]!;
      const excess = this.tailBytes - room;
      if (first.length <= excess) {
        // Dropped at once, not at the next compaction: a dropped piece may hold a whole chunk.
        this.tail[this.tailStart++] = DROPPED;
        this.tailBytes -= first.length;
        this.cut += first.length;
      } else {
        // The oldest piece loses its head (it is not the last, so a view will do).
        first.bytes = first.bytes.subarray(excess, first.length);
        first.length -= excess;
        this.tailBytes -= excess;
        this.cut += excess;
      }
    }
    if (this.tailStart > 1024 && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  /** Delivers the marker (if anything was cut) and the tail. */
  async finish(): Promise<void> {
    if (this.cut > 0) {
      const fd = this.tail[this.tailStart]?.fd ?? 1;
      const marker = `\n[capsule: output limit of ${this.limit} bytes reached: ${this.cut} bytes cut here]\n`;
      await this.deliver(fd, new TextEncoder().encode(marker));
    }
    for (let i = this.tailStart; i < this.tail.length; i++) {
      const t = this.tail[i]!;
      await this.deliver(t.fd, t.bytes.subarray(0, t.length));
    }
    this.tail = [];
    this.tailStart = 0;
    this.tailBytes = 0;
  }
}

// The output limit (--max-output): the first half of the allowance is passed
// on as the guest writes it; after that only the most recent half is kept,
// and what falls out between is cut. At the end the user sees the head, a
// marker saying how much was cut, and the tail: never a silent truncation.
// A guest that writes twice its allowance is stopped.

export type Deliver = (fd: number, bytes: Uint8Array) => void | Promise<void>;

export class OutputLimiter {
  private delivered = 0;
  private total = 0;
  private tail: { fd: number; bytes: Uint8Array }[] = [];
  private tailBytes = 0;
  /** Bytes dropped between head and tail. */
  cut = 0;
  /** The guest wrote more than twice the limit (it is stopped, or had already ended). */
  exceeded = false;

  constructor(private readonly limit: number, private readonly deliver: Deliver, private readonly onExceeded: () => void) {}

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
    const room = this.limit - Math.floor(this.limit / 2);
    this.tail.push({ fd, bytes: Uint8Array.from(bytes) });
    this.tailBytes += bytes.byteLength;
    while (this.tailBytes > room) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - room;
      if (first.bytes.byteLength <= excess) {
        this.tail.shift();
        this.tailBytes -= first.bytes.byteLength;
        this.cut += first.bytes.byteLength;
      } else {
        first.bytes = first.bytes.subarray(excess);
        this.tailBytes -= excess;
        this.cut += excess;
      }
    }
  }

  /** Delivers the marker (if anything was cut) and the tail. */
  async finish(): Promise<void> {
    if (this.cut > 0) {
      const fd = this.tail[0]?.fd ?? 1;
      const marker = `\n[capsule: output limit of ${this.limit} bytes reached: ${this.cut} bytes cut here]\n`;
      await this.deliver(fd, new TextEncoder().encode(marker));
    }
    for (const t of this.tail) await this.deliver(t.fd, t.bytes);
    this.tail = [];
    this.tailBytes = 0;
  }
}

// Bounds-checked access to the guest's linear memory. Every pointer, length
// and count a guest passes goes through here: an impossible one fails the
// call with EFAULT before anything else happens, never a host exception.

import { Denial, Errno, SysError } from '../core/errno.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class GuestMemory {
  /** Bytes one call may make the host allocate on the guest's behalf (policy limit). */
  callBytes = Infinity;
  private memory: WebAssembly.Memory | undefined;
  private buffer: ArrayBuffer = new ArrayBuffer(0);
  private bytesView = new Uint8Array(0);
  private view = new DataView(this.buffer);

  attach(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.refresh();
  }

  get attached(): boolean {
    return this.memory !== undefined;
  }

  /** Views go stale when the guest grows its memory; rebuild them lazily. */
  private refresh(): void {
    if (!this.memory) throw new SysError(Errno.FAULT, 'guest memory is not available');
    const buffer = this.memory.buffer as ArrayBuffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.bytesView = new Uint8Array(buffer);
      this.view = new DataView(buffer);
    }
  }

  get size(): number {
    if (this.memory) this.refresh();
    return this.bytesView.byteLength;
  }

  /**
   * Throws EFAULT unless [ptr, ptr+len) lies inside linear memory. The cached
   * view is trusted when the range fits it: a grown memory detaches the old
   * buffer (length 0), which sends every check through refresh().
   */
  check(ptr: number, len: number): void {
    // Guest i32 values arrive signed: addresses and lengths are unsigned. A length
    // computed by the host (count * size) may exceed 32 bits and must not wrap.
    ptr >>>= 0;
    if (len < 0) len >>>= 0;
    if (ptr + len <= this.bytesView.byteLength) return;
    this.refresh();
    if (ptr + len > this.bytesView.byteLength) {
      throw new SysError(Errno.FAULT, `guest range ${ptr}+${len} outside memory`);
    }
  }

  /** All of linear memory, as of the last check(): valid for ranges check() has just passed. */
  get bytes(): Uint8Array {
    return this.bytesView;
  }

  /** A live view of guest bytes (valid until the next memory.grow). */
  slice(ptr: number, len: number): Uint8Array {
    this.check(ptr >>> 0, len >>> 0);
    return new Uint8Array(this.buffer, ptr >>> 0, len >>> 0);
  }

  u8(ptr: number): number { this.check(ptr, 1); return this.view.getUint8(ptr >>> 0); }
  u16(ptr: number): number { this.check(ptr, 2); return this.view.getUint16(ptr >>> 0, true); }
  u32(ptr: number): number { this.check(ptr, 4); return this.view.getUint32(ptr >>> 0, true); }
  u64(ptr: number): bigint { this.check(ptr, 8); return this.view.getBigUint64(ptr >>> 0, true); }

  setU8(ptr: number, v: number): void { this.check(ptr, 1); this.view.setUint8(ptr >>> 0, v); }
  setU16(ptr: number, v: number): void { this.check(ptr, 2); this.view.setUint16(ptr >>> 0, v, true); }
  setU32(ptr: number, v: number): void { this.check(ptr, 4); this.view.setUint32(ptr >>> 0, v >>> 0, true); }
  setU64(ptr: number, v: bigint | number): void {
    this.check(ptr, 8);
    this.view.setBigUint64(ptr >>> 0, typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(v), true);
  }

  /** Refuses a call that would make the host allocate more than the policy allows. */
  budget(bytes: number): void {
    if (bytes > this.callBytes) {
      throw new Denial(Errno.NOMEM, 'limit', `the call would make the host allocate ${bytes} bytes, over the per-call limit of ${this.callBytes} (--max-call-bytes)`, 'call bytes');
    }
  }

  /** Decodes a guest string; invalid UTF-8 is EILSEQ as the WASI spec asks. */
  string(ptr: number, len: number): string {
    this.budget((len >>> 0) * 3);
    const raw = this.slice(ptr, len);
    try {
      return utf8.decode(raw);
    } catch {
      throw new SysError(Errno.ILSEQ, 'string is not valid UTF-8');
    }
  }

  /** Copies `data` into guest memory at ptr (checked). */
  write(ptr: number, data: Uint8Array): void {
    this.slice(ptr, data.byteLength).set(data);
  }

  /**
   * Resolves an iovec/ciovec array into live views of guest memory. The array
   * itself and every buffer it names are checked before any is used.
   */
  iovecs(ptr: number, count: number): Uint8Array[] {
    ptr >>>= 0; count >>>= 0;
    this.check(ptr, count * 8);
    // Each buffer becomes a view object of ~100 bytes on the host.
    if (count > 16) this.budget(count * 100);
    const out = new Array<Uint8Array>(count);
    const view = this.view;
    for (let i = 0; i < count; i++) {
      const buf = view.getUint32(ptr + i * 8, true);
      const len = view.getUint32(ptr + i * 8 + 4, true);
      if (buf + len > this.bytesView.byteLength) {
        throw new SysError(Errno.FAULT, `iovec ${i} outside memory`);
      }
      out[i] = new Uint8Array(this.buffer, buf, len);
    }
    return out;
  }
}

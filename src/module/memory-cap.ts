// Caps a module's linear memory before it is compiled: the memory section's
// maximum is set to the limit (kept if already lower), so memory.grow fails
// past it exactly as the instruction does, and a module whose initial memory
// is already larger is refused before it starts.

const MEMORY_SECTION = 5;
const PAGE = 65536;

interface Reader {
  bytes: Uint8Array;
  pos: number;
}

function readU32(r: Reader): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (r.pos >= r.bytes.length) throw new RangeError('truncated LEB128');
    const b = r.bytes[r.pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return result;
    shift += 7;
    if (shift > 35) throw new RangeError('LEB128 too long');
  }
}

function writeU32(out: number[], v: number): void {
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
}

export interface MemoryCap {
  bytes: Uint8Array;
  /** Initial size of the module's own memory in bytes (0 if it defines none). */
  initialBytes: number;
}

export class MemoryTooLarge extends Error {
  constructor(readonly initialBytes: number, readonly limitBytes: number) {
    super(`the module needs ${initialBytes} bytes of memory at start, over the limit of ${limitBytes}`);
  }
}

/**
 * Returns the module with every defined memory capped at `limitBytes`.
 * Malformed sections are left for the compiler to reject.
 */
export function capMemory(bytes: Uint8Array, limitBytes: number): MemoryCap {
  const limitPages = Math.floor(limitBytes / PAGE);
  const r: Reader = { bytes, pos: 8 };
  let initialBytes = 0;
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = bytes[r.pos++]!;
    const size = readU32(r);
    const payloadStart = r.pos;
    const end = payloadStart + size;
    if (end > bytes.length) break;
    if (id !== MEMORY_SECTION) {
      r.pos = end;
      continue;
    }
    const count = readU32(r);
    const payload: number[] = [];
    writeU32(payload, count);
    for (let i = 0; i < count; i++) {
      const flags = readU32(r);
      // memory64 (0x04) and custom page sizes (0x08): left to the engine, which rejects them here.
      if (flags & ~0x03) return { bytes, initialBytes };
      const min = readU32(r);
      const max = flags & 0x01 ? readU32(r) : undefined;
      initialBytes = Math.max(initialBytes, min * PAGE);
      if (min > limitPages) throw new MemoryTooLarge(min * PAGE, limitBytes);
      writeU32(payload, flags | 0x01);
      writeU32(payload, min);
      writeU32(payload, max === undefined ? limitPages : Math.min(max, limitPages));
    }
    if (r.pos !== end) return { bytes, initialBytes };
    const section: number[] = [MEMORY_SECTION];
    writeU32(section, payload.length);
    const out = new Uint8Array(start + section.length + payload.length + (bytes.length - end));
    out.set(bytes.subarray(0, start), 0);
    out.set(section, start);
    out.set(payload, start + section.length);
    out.set(bytes.subarray(end), start + section.length + payload.length);
    return { bytes: out, initialBytes };
  }
  return { bytes, initialBytes };
}

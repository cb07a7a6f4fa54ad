// Unsigned LEB128, as the WebAssembly binary format writes sizes and limits:
// what the module rewriters (memory-cap.ts, table-cap.ts) need to read a
// section and write it back.

export interface Reader {
  bytes: Uint8Array;
  pos: number;
}

export function readU32(r: Reader): number {
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

export function writeU32(out: number[], v: number): void {
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
}

/** A section found in a module: its id and where its header and payload lie. */
export interface Section {
  id: number;
  /** Offset of the id byte. */
  start: number;
  payloadStart: number;
  end: number;
}

/** The module's sections in order; stops at the first malformed one (the compiler will say why). */
export function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  const r: Reader = { bytes, pos: 8 };
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = bytes[r.pos++]!;
    const size = readU32(r);
    const payloadStart = r.pos;
    const end = payloadStart + size;
    if (end > bytes.length) break;
    out.push({ id, start, payloadStart, end });
    r.pos = end;
  }
  return out;
}

/** `bytes` with section `s` replaced by one of the same id and `payload`. */
export function replaceSection(bytes: Uint8Array, s: Section, payload: number[]): Uint8Array {
  const header: number[] = [s.id];
  writeU32(header, payload.length);
  const out = new Uint8Array(s.start + header.length + payload.length + (bytes.length - s.end));
  out.set(bytes.subarray(0, s.start), 0);
  out.set(header, s.start);
  out.set(payload, s.start + header.length);
  out.set(bytes.subarray(s.end), s.start + header.length + payload.length);
  return out;
}

// Caps a module's linear memory before it is compiled: the memory section's
// maximum is set to the limit (kept if already lower), so memory.grow fails
// past it exactly as the instruction does, and a module whose initial memory
// is already larger is refused before it starts.

import { readU32, replaceSection, sections, writeU32, type Reader } from './leb128.js';

const MEMORY_SECTION = 5;
const PAGE = 65536;

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
  const section = sections(bytes).find((s) => s.id === MEMORY_SECTION);
  if (!section) return { bytes, initialBytes: 0 };
  const r: Reader = { bytes, pos: section.payloadStart };
  let initialBytes = 0;
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
  if (r.pos !== section.end) return { bytes, initialBytes };
  return { bytes: replaceSection(bytes, section, payload), initialBytes };
}

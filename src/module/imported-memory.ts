// The memory a module imports instead of defining (`env.memory`, as the WASIX
// toolchain links with --import-memory and --shared-memory). Its declared
// limits are read from the binary (the JS API does not expose them) so that
// Capsule can create the memory itself, its maximum capped by --memory.

import { MEMORY_IMPORT, type ImportedMemory } from '../enclave/protocol.js';
import { readU32, sections, type Reader } from './leb128.js';

export { MEMORY_IMPORT, type ImportedMemory };

const IMPORT_SECTION = 2;
const PAGE = 65536;



export class ImportedMemoryTooLarge extends Error {
  constructor(readonly initialBytes: number, readonly limitBytes: number) {
    super(`the module needs ${initialBytes} bytes of memory at start, over the limit of ${limitBytes}`);
  }
}

function skipName(r: Reader): string {
  const len = readU32(r);
  const s = new TextDecoder().decode(r.bytes.subarray(r.pos, r.pos + len));
  r.pos += len;
  return s;
}

function skipLimits(r: Reader): { flags: number; min: number; max?: number } {
  const flags = r.bytes[r.pos++]!;
  const min = readU32(r);
  return flags & 0x01 ? { flags, min, max: readU32(r) } : { flags, min };
}

/**
 * The declared limits of the module's `env.memory` import, or undefined if it
 * has none (or the binary cannot be read: the compiler says why). With
 * `limitBytes`, the maximum is capped at it, and an initial size over it is
 * refused (ImportedMemoryTooLarge), as for a memory the module defines.
 */
export function importedMemory(bytes: Uint8Array, limitBytes?: number): ImportedMemory | undefined {
  let found: ImportedMemory | undefined;
  try {
    const section = sections(bytes).find((s) => s.id === IMPORT_SECTION);
    if (!section) return undefined;
    const r: Reader = { bytes, pos: section.payloadStart };
    const count = readU32(r);
    for (let i = 0; i < count && !found; i++) {
      const module = skipName(r);
      const name = skipName(r);
      const kind = bytes[r.pos++];
      if (kind === 0x00) readU32(r);
      else if (kind === 0x01) { r.pos++; skipLimits(r); }
      else if (kind === 0x03) r.pos += 2;
      else if (kind === 0x04) { r.pos++; readU32(r); }
      else if (kind === 0x02) {
        const l = skipLimits(r);
        // memory64 and custom page sizes: left to the engine.
        if (module === MEMORY_IMPORT.module && name === MEMORY_IMPORT.name && !(l.flags & ~0x03)) {
          found = { initial: l.min, shared: (l.flags & 0x02) !== 0, ...(l.max !== undefined ? { maximum: l.max } : {}) };
        }
      } else return undefined;
    }
  } catch {
    return undefined;
  }
  if (!found || limitBytes === undefined) return found;
  const limitPages = Math.floor(limitBytes / PAGE);
  if (found.initial > limitPages) throw new ImportedMemoryTooLarge(found.initial * PAGE, limitBytes);
  return { ...found, maximum: Math.min(found.maximum ?? limitPages, limitPages) };
}

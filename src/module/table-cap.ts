// Caps a module's tables before it is compiled, as memory-cap.ts does for
// linear memory. A table element costs the host far more than a byte of
// guest memory (about 47 bytes per funcref in V8, whose own ceiling is ten
// million per table), so `table.grow` could otherwise make the host hold
// hundreds of MiB under any --memory. All of a module's tables together get
// at most MAX_TABLE_ELEMENTS: each table's maximum is rewritten to its
// initial size plus an equal share of what the initial sizes leave, and a
// module whose initial tables already exceed the total is refused.

import { readU32, replaceSection, sections, writeU32, type Reader } from './leb128.js';

const TABLE_SECTION = 4;
const FUNCREF = 0x70;
const EXTERNREF = 0x6f;

/**
 * Elements all tables of one guest may hold: about 12 MiB of host memory at
 * worst, far above what compilers emit (one element per address-taken
 * function; wasmtime's pooling allocator allows 20,000 by default).
 */
export const MAX_TABLE_ELEMENTS = 1 << 18;

export class TablesTooLarge extends Error {
  constructor(readonly initialElements: number, readonly limitElements: number) {
    super(`the module's tables need ${initialElements} elements at start, over the limit of ${limitElements}`);
  }
}

interface TableType {
  refType: number;
  flags: number;
  min: number;
  max: number | undefined;
}

/**
 * Returns the module with its tables' maximums capped so that together they
 * never exceed `limit` elements. Encodings this does not know (tables with
 * initialisers, table64, typed references) are left for the compiler, which
 * in this engine rejects them.
 */
export function capTables(bytes: Uint8Array, limit = MAX_TABLE_ELEMENTS): Uint8Array {
  const section = sections(bytes).find((s) => s.id === TABLE_SECTION);
  if (!section) return bytes;
  const r: Reader = { bytes, pos: section.payloadStart };
  const count = readU32(r);
  const tables: TableType[] = [];
  for (let i = 0; i < count; i++) {
    const refType = bytes[r.pos++];
    if (refType !== FUNCREF && refType !== EXTERNREF) return bytes;
    const flags = readU32(r);
    if (flags & ~0x01) return bytes;
    const min = readU32(r);
    tables.push({ refType, flags, min, max: flags & 0x01 ? readU32(r) : undefined });
  }
  if (r.pos !== section.end) return bytes;
  const initial = tables.reduce((sum, t) => sum + t.min, 0);
  if (initial > limit) throw new TablesTooLarge(initial, limit);
  const growable = tables.filter((t) => t.max === undefined || t.max > t.min).length;
  const share = growable === 0 ? 0 : Math.floor((limit - initial) / growable);
  const payload: number[] = [];
  writeU32(payload, count);
  for (const t of tables) {
    payload.push(t.refType);
    writeU32(payload, 0x01);
    writeU32(payload, t.min);
    writeU32(payload, Math.min(t.max ?? Infinity, t.min + share));
  }
  return replaceSection(bytes, section, payload);
}

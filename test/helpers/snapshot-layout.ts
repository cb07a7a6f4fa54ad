// Where a sealed snapshot's parts lie, for tests that alter them (format.ts).

import { CHUNK_HEAD_BYTES, MAGIC, TAG_BYTES } from '../../src/snapshot/format.js';

/** Where the header ends and each chunk starts, read from the file's own lengths. */
export function layout(bytes: Buffer): { headerEnd: number; chunks: { start: number; length: number }[] } {
  const headerEnd = MAGIC.length + 4 + bytes.readUInt32BE(MAGIC.length) + TAG_BYTES;
  const chunks: { start: number; length: number }[] = [];
  for (let off = headerEnd; off < bytes.length;) {
    const length = bytes.readUInt32BE(off);
    chunks.push({ start: off, length });
    off += CHUNK_HEAD_BYTES + length + TAG_BYTES;
  }
  return { headerEnd, chunks };
}

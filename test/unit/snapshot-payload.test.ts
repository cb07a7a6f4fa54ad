// A guest's memory through a sealed snapshot (src/snapshot/payload.ts): what
// comes back is the sealed memory exactly, across chunks of any size and the
// reader's read-ahead blocks; all-zero pages are not stored; pages the
// snapshot does not hold are zeroed below the bound the caller names (what
// the module's start wrote) and left untouched above it (fresh memory).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PAGE, PayloadStream, writeGuest, type SealedGuestState } from '../../src/snapshot/payload.js';
import { SnapshotWriter } from '../../src/snapshot/seal.js';
import { SnapshotReader } from '../../src/snapshot/unseal.js';
import { tempDir, type TempDir } from '../helpers/cli.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-payload-'); });
after(() => dir.cleanup());

const key = crypto.randomBytes(32);
const PAGES = 300; // 18.75 MiB: several read-ahead blocks
/** Pages left all zero in the sealed memory: one alone, a run, and the last ones. */
const ZERO = new Set([0, 7, ...Array.from({ length: 40 }, (_, i) => 100 + i), 298, 299]);

function state(pages: number): SealedGuestState {
  return {
    name: 'g', args: ['g'], env: [], module: { sha256: 'a'.repeat(64), preparation: 'test' }, policy: {}, globals: [],
    memoryPages: pages, stackData: 0, monotonicNs: '0', pendingInput: '', mounts: [], files: [],
  };
}

function sealedMemory(): WebAssembly.Memory {
  const mem = new WebAssembly.Memory({ initial: PAGES });
  const bytes = new Uint8Array(mem.buffer);
  crypto.randomFillSync(bytes);
  for (const p of ZERO) bytes.fill(0, p * PAGE, (p + 1) * PAGE);
  // A page with a single byte set is not zero.
  bytes.fill(0, 50 * PAGE, 51 * PAGE);
  bytes[50 * PAGE + PAGE - 1] = 1;
  return mem;
}

async function sealTo(file: string, mem: WebAssembly.Memory, chunkBytes: number): Promise<number> {
  const w = SnapshotWriter.create(file, key, { guests: [{ name: 'g', moduleSha256: 'a'.repeat(64) }], policySha256: 'b'.repeat(64), chunkBytes });
  await writeGuest(w, state(mem.buffer.byteLength / PAGE), mem.buffer);
  await w.finish();
  return w.written;
}

/** Restores `file` into a memory of `initial` pages whose every byte is 0xff (as a module's start might leave it), grown to size. */
async function restore(file: string, initial: number): Promise<Uint8Array> {
  const mem = new WebAssembly.Memory({ initial });
  new Uint8Array(mem.buffer).fill(0xff);
  const r = await SnapshotReader.open(file, key);
  try {
    const stream = new PayloadStream(r);
    const s = await stream.state();
    mem.grow(s.memoryPages - initial);
    await stream.memory(mem.buffer, initial);
  } finally {
    await r.close();
  }
  return new Uint8Array(mem.buffer);
}

describe('sealed guest memory', () => {
  const mem = sealedMemory();
  const original = new Uint8Array(mem.buffer);

  for (const chunkBytes of [1 << 20, 1_000_003, 4 << 20, 16 << 20]) {
    it(`comes back exactly with chunks of ${chunkBytes} bytes; zero pages are not stored`, async () => {
      const file = path.join(dir.path, `mem-${chunkBytes}.snap`);
      const size = await sealTo(file, mem, chunkBytes);
      const used = (PAGES - ZERO.size) * PAGE;
      assert.ok(size >= used && size <= used * 1.01, `snapshot ${size} bytes for ${used} bytes of non-zero pages`);
      const back = await restore(file, 120);
      assert.equal(back.byteLength, original.byteLength);
      assert.ok(Buffer.from(back).equals(Buffer.from(original)), 'the restored memory is the sealed one');
    });
  }

  it('leaves pages above the bound untouched, and zeroes those below it', async () => {
    const file = path.join(dir.path, 'bound.snap');
    await sealTo(file, mem, 1 << 20);
    // Above the bound the restore trusts the memory to be fresh: 0xff there stays (it never is, in a real resume).
    const r = await SnapshotReader.open(file, key);
    const m = new WebAssembly.Memory({ initial: PAGES });
    new Uint8Array(m.buffer).fill(0xff);
    try {
      const stream = new PayloadStream(r);
      await stream.state();
      await stream.memory(m.buffer, 110);
    } finally {
      await r.close();
    }
    const b = new Uint8Array(m.buffer);
    for (const p of [0, 7, 100, 109]) assert.ok(b.subarray(p * PAGE, (p + 1) * PAGE).every((x) => x === 0), `page ${p} zeroed`);
    for (const p of [110, 139, 298]) assert.ok(b.subarray(p * PAGE, (p + 1) * PAGE).every((x) => x === 0xff), `page ${p} not touched`);
    for (const p of [1, 50, 99, 140, 297]) assert.ok(Buffer.from(b.subarray(p * PAGE, (p + 1) * PAGE)).equals(Buffer.from(original.subarray(p * PAGE, (p + 1) * PAGE))), `page ${p} restored`);
  });

  it('nothing of the memory is in the clear in the file', async () => {
    const file = path.join(dir.path, 'clear.snap');
    await sealTo(file, mem, 1 << 20);
    const bytes = fs.readFileSync(file);
    for (const p of [1, 60, 200]) assert.equal(bytes.indexOf(Buffer.from(original.subarray(p * PAGE + 100, p * PAGE + 132))), -1);
  });
});

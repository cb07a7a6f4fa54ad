// releaseBuffer (src/core/release-buffer.ts) frees a buffer's memory at once
// by detaching it, and only a buffer that is the caller's alone: a view that
// shares its buffer (a small Buffer from Node's pool, a slice), a shared
// buffer and a wasm memory's buffer are left as they were, bytes and all.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releaseBuffer } from '../../src/core/release-buffer.js';
import { zeroPieces } from '../../src/snapshot/chunk-control.js';

describe('releaseBuffer', () => {
  it('detaches an ArrayBuffer, and a view that covers its whole buffer (the memory is freed)', () => {
    const ab = new ArrayBuffer(65536);
    releaseBuffer(ab);
    assert.equal(ab.byteLength, 0);
    const whole = Buffer.allocUnsafeSlow(4096).fill(7);
    releaseBuffer(whole);
    assert.equal(whole.byteLength, 0);
    assert.equal(whole.buffer.byteLength, 0);
  });

  it('leaves alone what is shared with other views: a pooled Buffer, a slice, a shared or wasm buffer', () => {
    const pooled = Buffer.from('secret');
    const neighbour = Buffer.from('neighbour');
    assert.equal(pooled.buffer, neighbour.buffer, 'small Buffers share Node\'s pool');
    releaseBuffer(pooled);
    assert.equal(pooled.toString(), 'secret');
    assert.equal(neighbour.toString(), 'neighbour');

    const big = Buffer.allocUnsafeSlow(1024).fill(1);
    const slice = big.subarray(10, 20);
    releaseBuffer(slice);
    assert.equal(big.byteLength, 1024);
    assert.equal(slice[0], 1);

    const sab = new SharedArrayBuffer(64);
    releaseBuffer(new Uint8Array(sab));
    assert.equal(sab.byteLength, 64);

    const mem = new WebAssembly.Memory({ initial: 1 });
    new Uint8Array(mem.buffer)[5] = 9;
    releaseBuffer(mem.buffer);
    assert.equal(mem.buffer.byteLength, 65536);
    assert.equal(new Uint8Array(mem.buffer)[5], 9);
  });

  it('zeroPieces zeroes before it frees; a detached piece is passed over', () => {
    // A wasm memory's buffer cannot be detached: what zeroPieces wrote stays to be read.
    const mem = new WebAssembly.Memory({ initial: 1 });
    new Uint8Array(mem.buffer).fill(0xab);
    const freed = new ArrayBuffer(16);
    releaseBuffer(freed);
    zeroPieces([mem.buffer, freed]);
    assert.ok(new Uint8Array(mem.buffer).every((b) => b === 0));
    const plain = new ArrayBuffer(4096);
    new Uint8Array(plain).fill(0xcd);
    zeroPieces([plain]);
    assert.equal(plain.byteLength, 0, 'freed once zeroed');
  });
});

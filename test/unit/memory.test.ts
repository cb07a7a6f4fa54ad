// GuestMemory (src/abi/memory.ts): bounds checks, iovecs, UTF-8 strings, and
// views that stay correct after memory.grow().

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, SysError } from '../../src/core/errno.js';
import { GuestMemory } from '../../src/abi/memory.js';

const PAGE = 65536;
const errno = (e: number) => (err: unknown): boolean => err instanceof SysError && err.errno === e;

function setup(): { m: GuestMemory; mem: WebAssembly.Memory; raw: () => DataView } {
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  const m = new GuestMemory();
  m.attach(mem);
  return { m, mem, raw: () => new DataView(mem.buffer) };
}

describe('GuestMemory.check', () => {
  it('accepts ranges inside memory, including an empty range at the end', () => {
    const { m } = setup();
    m.check(0, PAGE);
    m.check(PAGE - 1, 1);
    m.check(PAGE, 0);
    assert.equal(m.size, PAGE);
  });

  it('throws FAULT past the end and for negative values', () => {
    const { m } = setup();
    for (const [p, l] of [[PAGE, 1], [PAGE - 1, 2], [0, PAGE + 1], [-1, 1], [0, -1], [-8, 4], [2 ** 32 - 1, 1], [1, 2 ** 32 - 1]]) {
      assert.throws(() => m.check(p!, l!), errno(Errno.FAULT), `${p}+${l}`);
    }
  });

  it('typed accessors are little-endian and bounds-checked', () => {
    const { m, raw } = setup();
    m.setU32(100, 0xdeadbeef);
    assert.equal(raw().getUint32(100, true), 0xdeadbeef);
    assert.equal(m.u32(100), 0xdeadbeef);
    m.setU64(200, -1n);
    assert.equal(m.u64(200), 2n ** 64n - 1n);
    assert.throws(() => m.u32(PAGE - 2), errno(Errno.FAULT));
    assert.throws(() => m.setU64(PAGE - 4, 1n), errno(Errno.FAULT));
    assert.throws(() => m.slice(PAGE - 1, 2), errno(Errno.FAULT));
  });

  it('an unattached memory faults', () => {
    assert.throws(() => new GuestMemory().check(0, 1), errno(Errno.FAULT));
  });
});

describe('GuestMemory.iovecs', () => {
  it('returns live views of each buffer', () => {
    const { m, mem, raw } = setup();
    raw().setUint32(0, 100, true); raw().setUint32(4, 10, true);
    raw().setUint32(8, 200, true); raw().setUint32(12, 0, true);
    raw().setUint32(16, PAGE - 5, true); raw().setUint32(20, 5, true);
    const v = m.iovecs(0, 3);
    assert.deepEqual(v.map((b) => [b.byteOffset, b.byteLength]), [[100, 10], [200, 0], [PAGE - 5, 5]]);
    v[0]![3] = 77;
    assert.equal(new Uint8Array(mem.buffer)[103], 77);
  });

  it('validates the array and every buffer it names', () => {
    const { m, raw } = setup();
    raw().setUint32(0, 100, true); raw().setUint32(4, 10, true);
    raw().setUint32(8, PAGE - 4, true); raw().setUint32(12, 5, true);
    assert.throws(() => m.iovecs(0, 2), errno(Errno.FAULT), 'second buffer past the end');
    raw().setUint32(8, 0xffffffff, true); raw().setUint32(12, 2, true);
    assert.throws(() => m.iovecs(0, 2), errno(Errno.FAULT), 'buffer address wrapping past 2^32');
    assert.throws(() => m.iovecs(PAGE - 4, 1), errno(Errno.FAULT), 'array past the end');
    assert.throws(() => m.iovecs(0, 0x20000000), errno(Errno.FAULT), 'huge count');
    assert.throws(() => m.iovecs(0, -1), errno(Errno.FAULT), 'negative count');
    assert.deepEqual(m.iovecs(PAGE, 0), []);
  });
});

describe('GuestMemory.string', () => {
  it('decodes UTF-8', () => {
    const { m } = setup();
    const bytes = new TextEncoder().encode('héllo ✓ 𝄞');
    m.write(10, bytes);
    assert.equal(m.string(10, bytes.byteLength), 'héllo ✓ 𝄞');
    assert.equal(m.string(0, 0), '');
  });

  it('rejects invalid UTF-8 with ILSEQ', () => {
    const { m } = setup();
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x61, 0x80]]) {
      m.write(10, new Uint8Array(bad));
      assert.throws(() => m.string(10, bad.length), errno(Errno.ILSEQ), JSON.stringify(bad));
    }
  });

  it('faults on a string past the end', () => {
    const { m } = setup();
    assert.throws(() => m.string(PAGE - 2, 3), errno(Errno.FAULT));
  });
});

describe('GuestMemory after memory.grow()', () => {
  it('sees the new size and keeps old data', () => {
    const { m, mem } = setup();
    m.setU32(8, 1234);
    const slice = m.slice(0, 16);
    assert.equal(slice.byteLength, 16);
    mem.grow(1);
    assert.equal(m.size, 2 * PAGE);
    assert.equal(m.u32(8), 1234);
    m.check(PAGE, PAGE);
    m.setU32(PAGE + 100, 99);
    assert.equal(new DataView(mem.buffer).getUint32(PAGE + 100, true), 99);
    assert.throws(() => m.check(2 * PAGE, 1), errno(Errno.FAULT));
  });

  it('iovecs and strings in the new pages work', () => {
    const { m, mem } = setup();
    m.iovecs(0, 0); // warm the cached views before growing
    mem.grow(2);
    const text = new TextEncoder().encode('grown');
    m.write(2 * PAGE + 7, text);
    assert.equal(m.string(2 * PAGE + 7, text.byteLength), 'grown');
    m.setU32(0, 2 * PAGE + 7);
    m.setU32(4, text.byteLength);
    const [v] = m.iovecs(0, 1);
    assert.equal(Buffer.from(v!).toString(), 'grown');
    assert.ok(v!.buffer === mem.buffer, 'the view is over the current buffer');
  });
});

describe('GuestMemory above 2 GiB', () => {
  // Wasm passes i32 pointers to JS as signed numbers: 0x80000010 arrives as -2147483632.
  const HIGH = 0x80000010;
  const asI32 = HIGH | 0;
  let mem: WebAssembly.Memory | undefined;
  try {
    mem = new WebAssembly.Memory({ initial: 32769 }); // 2 GiB + 64 KiB, committed lazily
  } catch {
    mem = undefined;
  }
  const skip = mem ? false : 'cannot reserve a 2 GiB memory here';

  it('slice() takes a pointer at or above 2 GiB as the guest passed it', { skip }, () => {
    const m = new GuestMemory();
    m.attach(mem!);
    assert.equal(m.slice(asI32, 4).byteOffset, HIGH);
  });

  it('check() and the typed accessors take such pointers too', {
    skip,
  }, () => {
    const m = new GuestMemory();
    m.attach(mem!);
    m.check(asI32, 4);
    m.setU32(asI32, 0xabcdef);
    assert.equal(new DataView(mem!.buffer).getUint32(HIGH, true), 0xabcdef);
    assert.equal(m.u32(asI32), 0xabcdef);
  });
});

// Host error translation (src/core/host-errno.ts errnoOf/hostCall) to the witx
// errno numbers of src/abi/errno.ts, and errnoName.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { Errno, SysError, errnoName } from '../../src/core/errno.js';
import { errnoOf, hostCall } from '../../src/core/host-errno.js';

const withCode = (code: string): Error => Object.assign(new Error(code), { code });

describe('errnoOf', () => {
  it('maps host error codes to the witx numbers', () => {
    const expected: [string, number][] = [
      ['ENOENT', 44], ['EACCES', 2], ['EEXIST', 20], ['ENOTDIR', 54], ['ELOOP', 32],
      ['EXDEV', 75], ['EPIPE', 64], ['ECONNREFUSED', 14],
      ['EISDIR', 31], ['ENOTEMPTY', 55], ['EBADF', 8], ['EINVAL', 28], ['EPERM', 63], ['EROFS', 69],
    ];
    for (const [code, n] of expected) assert.equal(errnoOf(withCode(code)), n, code);
  });

  it('maps a real node:fs error', () => {
    let err: unknown;
    try { fs.statSync('/nonexistent/capsule/path'); } catch (e) { err = e; }
    assert.equal(errnoOf(err), Errno.NOENT);
  });

  it('passes a SysError through', () => {
    assert.equal(errnoOf(new SysError(Errno.ROFS)), 69);
    assert.equal(errnoOf(new SysError(Errno.NOTCAPABLE, 'detail')), 76);
  });

  it('maps anything unknown to IO (29)', () => {
    for (const v of [withCode('EWHATEVER'), new Error('plain'), null, undefined, 'text', 42, { code: 7 }]) {
      assert.equal(errnoOf(v), 29, String(v));
    }
  });

  it('maps Node argument errors to INVAL', () => {
    assert.equal(errnoOf(withCode('ERR_INVALID_ARG_VALUE')), Errno.INVAL);
    assert.equal(errnoOf(new RangeError('out of range')), Errno.INVAL);
  });
});

describe('hostCall', () => {
  it('returns the value, or throws a SysError with the mapped errno', () => {
    assert.equal(hostCall(() => 5), 5);
    assert.throws(() => hostCall(() => { throw withCode('EEXIST'); }),
      (e: unknown) => e instanceof SysError && e.errno === Errno.EXIST);
    const original = new SysError(Errno.LOOP);
    assert.throws(() => hostCall(() => { throw original; }), (e: unknown) => e === original);
  });
});

describe('errnoName and the Errno table', () => {
  it('names values as witx does', () => {
    assert.equal(errnoName(0), 'SUCCESS');
    assert.equal(errnoName(44), 'NOENT');
    assert.equal(errnoName(76), 'NOTCAPABLE');
    assert.equal(errnoName(999), 'errno 999');
    assert.equal(new SysError(Errno.NOENT, 'x').message, 'NOENT: x');
  });

  it('numbers 0..76 once each', () => {
    const values = Object.values(Errno).sort((a, b) => a - b);
    assert.deepEqual(values, Array.from({ length: 77 }, (_, i) => i));
  });
});

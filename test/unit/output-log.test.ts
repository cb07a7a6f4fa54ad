// OutputLog: the bounded tail of a guest's output kept for `capsule logs`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputLog, type LogChunk } from '../../src/api/output-log.js';

const text = (chunks: LogChunk[]): string => chunks.map((c) => `${c.fd}:${c.bytes.toString()}`).join(' ');

describe('OutputLog', () => {
  it('keeps chunks in order with their stream, as copies', () => {
    const log = new OutputLog(100);
    const buf = Buffer.from('out');
    log.append(1, buf);
    log.append(2, Buffer.from('err'));
    buf.write('XXX');
    assert.equal(text(log.recent()), '1:out 2:err');
  });

  it('keeps at most its bound: the oldest bytes go first, a chunk cut at its start', () => {
    const log = new OutputLog(10);
    log.append(1, Buffer.from('abcd'));
    log.append(2, Buffer.from('efgh'));
    log.append(1, Buffer.from('ijkl'));
    assert.equal(text(log.recent()), '1:cd 2:efgh 1:ijkl');
    assert.equal(log.recent().reduce((n, c) => n + c.bytes.length, 0), 10);
    log.append(2, Buffer.from('0123456789abcdef'));
    assert.equal(text(log.recent()), '2:6789abcdef');
  });

  it('followers get each later chunk, then the end; none after they stop following', () => {
    const log = new OutputLog(100);
    log.append(1, Buffer.from('before'));
    const seen: string[] = [];
    let ended = 0;
    const stop = log.follow({ chunk: (c) => seen.push(c.bytes.toString()), end: () => ended++ });
    log.append(1, Buffer.from('one'));
    const other: string[] = [];
    log.follow({ chunk: (c) => other.push(c.bytes.toString()), end: () => other.push('end') });
    log.append(2, Buffer.from('two'));
    stop();
    log.append(1, Buffer.from('three'));
    log.end();
    assert.deepEqual(seen, ['one', 'two']);
    assert.equal(ended, 0, 'stopped following before the end');
    assert.deepEqual(other, ['two', 'three', 'end']);
  });

  it('after the end nothing is added, and a new follower hears of the end at once', () => {
    const log = new OutputLog(100);
    log.append(1, Buffer.from('last'));
    log.end();
    log.append(1, Buffer.from('late'));
    assert.equal(text(log.recent()), '1:last');
    let ended = false;
    log.follow({ chunk: () => assert.fail('no chunk after the end'), end: () => { ended = true; } });
    assert.ok(ended && log.ended);
  });
});

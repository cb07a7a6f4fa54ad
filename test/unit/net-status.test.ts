// The socket status machine (src/layer/net/status.ts): for every operation and
// every one of the ten statuses, the next status or the POSIX errno, spelled out.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, errnoName } from '../../src/core/errno.js';
import { SocketStatus, STATUS_NAMES, TRANSITIONS, statusName, transition, type SocketOp } from '../../src/layer/net/status.js';

const ORDER = ['UNCONNECTED', 'BOUND', 'LISTENING', 'CONNECTING', 'CONNECTED', 'SENDING', 'RECEIVING',
  'SHUTDOWN', 'DISCONNECTED', 'TERMINATED'] as const;
type StatusName = (typeof ORDER)[number];

// One row per operation, one column per status in ORDER: a status name means
// "allowed, leads there"; an E-name means "refused with that errno".
const EXPECTED: Record<SocketOp, string[]> = {
  //                 UNCONNECTED    BOUND          LISTENING    CONNECTING      CONNECTED       SENDING         RECEIVING       SHUTDOWN        DISCONNECTED    TERMINATED
  'bind':           ['BOUND',       'EINVAL',      'EINVAL',    'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  // POSIX listen(): EINVAL "the socket is already connected" (Linux agrees).
  'listen':         ['LISTENING',   'LISTENING',   'LISTENING', 'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  'connect':        ['CONNECTING',  'CONNECTING',  'EINVAL',    'EALREADY',     'EISCONN',      'EISCONN',      'EISCONN',      'EISCONN',      'EISCONN',      'EBADF'],
  'connect-datagram': ['CONNECTED', 'CONNECTED',   'EINVAL',    'EINVAL',       'CONNECTED',    'CONNECTED',    'CONNECTED',    'EINVAL',       'EINVAL',       'EINVAL'],
  'connected':      ['EINVAL',      'EINVAL',      'EINVAL',    'CONNECTED',    'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  'connect-failed': ['EINVAL',      'EINVAL',      'EINVAL',    'UNCONNECTED',  'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  'connect-failed-bound': ['EINVAL', 'EINVAL',     'EINVAL',    'BOUND',        'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  'accept':         ['EINVAL',      'EINVAL',      'LISTENING', 'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  'send':           ['ENOTCONN',    'ENOTCONN',    'ENOTCONN',  'ENOTCONN',     'CONNECTED',    'SENDING',      'RECEIVING',    'EPIPE',        'EPIPE',        'ENOTCONN'],
  'recv':           ['ENOTCONN',    'ENOTCONN',    'ENOTCONN',  'EAGAIN',       'CONNECTED',    'SENDING',      'RECEIVING',    'SHUTDOWN',     'DISCONNECTED', 'ENOTCONN'],
  'shutdown':       ['ENOTCONN',    'ENOTCONN',    'ENOTCONN',  'ENOTCONN',     'SHUTDOWN',     'SHUTDOWN',     'SHUTDOWN',     'SHUTDOWN',     'SHUTDOWN',     'ENOTCONN'],
  'peer-closed':    ['EINVAL',      'EINVAL',      'EINVAL',    'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'EINVAL',       'EINVAL'],
  'close':          ['TERMINATED',  'TERMINATED',  'TERMINATED', 'TERMINATED',  'TERMINATED',   'TERMINATED',   'TERMINATED',   'TERMINATED',   'TERMINATED',   'TERMINATED'],
};

/** Cells where src/ disagrees with POSIX: checked in their own `todo` tests below. */
const KNOWN_BUGS: { op: SocketOp; status: StatusName; why: string }[] = [];

const isKnownBug = (op: SocketOp, s: StatusName): boolean => KNOWN_BUGS.some((b) => b.op === op && b.status === s);

function expectedResult(cell: string): { ok: true; to: number } | { ok: false; errno: number } {
  if (cell.startsWith('E') && !(ORDER as readonly string[]).includes(cell)) {
    const errno = (Errno as Record<string, number>)[cell.slice(1)];
    assert.ok(errno !== undefined, `no errno ${cell}`);
    return { ok: false, errno };
  }
  return { ok: true, to: SocketStatus[cell as StatusName] };
}

function describeResult(r: { ok: true; to: number } | { ok: false; errno: number }): string {
  return r.ok ? `-> ${statusName(r.to)}` : `E${errnoName(r.errno)}`;
}

describe('socket statuses', () => {
  it('are exactly the ten of the socket table, numbered in order', () => {
    assert.deepEqual([...STATUS_NAMES], [...ORDER]);
    ORDER.forEach((name, i) => assert.equal(SocketStatus[name], i));
    assert.equal(statusName(SocketStatus.LISTENING), 'LISTENING');
    assert.equal(statusName(42), 'status 42');
  });

  it('every operation in TRANSITIONS has a row in the expected table, and no more', () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), Object.keys(EXPECTED).sort());
    for (const row of Object.values(EXPECTED)) assert.equal(row.length, ORDER.length);
  });
});

describe('transition(): every operation from every status', () => {
  for (const op of Object.keys(EXPECTED) as SocketOp[]) {
    it(`${op}`, () => {
      EXPECTED[op].forEach((cell, i) => {
        const status = ORDER[i]!;
        if (isKnownBug(op, status)) return;
        const want = expectedResult(cell);
        const got = transition(SocketStatus[status], op);
        assert.deepEqual(got, want, `${op} while ${status}: expected ${describeResult(want)}, got ${describeResult(got)}`);
      });
    });
  }

  for (const bug of KNOWN_BUGS) {
    it(`${bug.op} while ${bug.status}`, { todo: bug.why }, () => {
      const want = expectedResult(EXPECTED[bug.op][ORDER.indexOf(bug.status)]!);
      assert.deepEqual(transition(SocketStatus[bug.status], bug.op), want);
    });
  }

  it('the cases POSIX names explicitly', () => {
    const S = SocketStatus;
    assert.deepEqual(transition(S.CONNECTING, 'connect'), { ok: false, errno: Errno.ALREADY });
    assert.deepEqual(transition(S.CONNECTED, 'connect'), { ok: false, errno: Errno.ISCONN });
    assert.deepEqual(transition(S.UNCONNECTED, 'send'), { ok: false, errno: Errno.NOTCONN });
    assert.deepEqual(transition(S.SHUTDOWN, 'send'), { ok: false, errno: Errno.PIPE });
    assert.deepEqual(transition(S.BOUND, 'accept'), { ok: false, errno: Errno.INVAL });
    assert.deepEqual(transition(S.BOUND, 'bind'), { ok: false, errno: Errno.INVAL });
    // Listening again only changes the backlog.
    assert.deepEqual(transition(S.LISTENING, 'listen'), { ok: true, to: S.LISTENING });
  });

  it('refusals never change anything: transition() is a pure function', () => {
    for (let i = 0; i < 3; i++) assert.deepEqual(transition(SocketStatus.CONNECTING, 'connect'), { ok: false, errno: Errno.ALREADY });
  });
});

// The socket state machine (src/layer/net/status.ts) against a specification
// written from FIG. 48 and POSIX, not from the code: the machine stores a few
// states and flags, this file speaks only of the ten statuses users see. Each
// column is a socket brought to a status by a sequence of operations; each
// cell is the status the operation shows next, or the errno it fails with.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Errno, errnoName } from '../../src/core/errno.js';
import {
  displayStatus, INITIAL_WORD, SOCKET_OPS, SocketStatus, STATUS_NAMES, statusName, tryApply, type SocketOp, type SocketWord,
} from '../../src/layer/net/status.js';

const CONNECTED = ['connect', 'connected'] as const;

/** The sockets of the specification: a name, how it got there, and the status it must show. */
const SOCKETS: Record<string, { path: readonly SocketOp[]; shows: string }> = {
  fresh: { path: [], shows: 'UNCONNECTED' },
  bound: { path: ['bind'], shows: 'BOUND' },
  listening: { path: ['listen'], shows: 'LISTENING' },
  connecting: { path: ['connect'], shows: 'CONNECTING' },
  'bound-connecting': { path: ['bind', 'connect'], shows: 'CONNECTING' },
  connected: { path: CONNECTED, shows: 'CONNECTED' },
  'write-shut': { path: [...CONNECTED, 'shutdown-write'], shows: 'SHUTDOWN' },
  'read-shut': { path: [...CONNECTED, 'shutdown-read'], shows: 'SHUTDOWN' },
  'peer-gone': { path: [...CONNECTED, 'peer-closed'], shows: 'DISCONNECTED' },
  reset: { path: [...CONNECTED, 'reset'], shows: 'DISCONNECTED' },
  closed: { path: ['close'], shows: 'TERMINATED' },
};
const COLUMNS = Object.keys(SOCKETS);

// One row per operation, one cell per socket in COLUMNS' order: a status name
// means "allowed, shows that status next"; an E-name means "refused with that errno".
const SPEC: Record<SocketOp, string[]> = {
  //                   fresh          bound          listening      connecting     bound-conn.    connected       write-shut      read-shut       peer-gone       reset           closed
  // POSIX bind(): EINVAL "the socket is already bound to an address".
  'bind':             ['BOUND',       'EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  // POSIX listen(): EINVAL "the socket is already connected"; listening again only changes the backlog.
  'listen':           ['LISTENING',   'LISTENING',   'LISTENING',   'EINVAL',      'EINVAL',      'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  // POSIX connect(): EALREADY while in progress, EISCONN once connected; EBADF after close.
  'connect':          ['CONNECTING',  'CONNECTING',  'EINVAL',      'EALREADY',    'EALREADY',    'EISCONN',      'EISCONN',      'EISCONN',      'EISCONN',      'EISCONN',      'EBADF'],
  // A datagram socket may set or change its default peer while it is not shut.
  'connect-datagram': ['CONNECTED',   'CONNECTED',   'EINVAL',      'EINVAL',      'EINVAL',      'CONNECTED',    'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  'connected':        ['EINVAL',      'EINVAL',      'EINVAL',      'CONNECTED',   'CONNECTED',   'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  // A failed connect returns the socket to what it was: unbound, or bound to its address.
  'connect-failed':   ['EINVAL',      'EINVAL',      'EINVAL',      'UNCONNECTED', 'BOUND',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  // A connection arriving at a listener is a new entry, connected from birth.
  'incoming':         ['CONNECTED',   'EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  // POSIX accept(): EINVAL "the socket is not accepting connections".
  'accept':           ['EINVAL',      'EINVAL',      'LISTENING',   'EINVAL',      'EINVAL',      'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL',       'EINVAL'],
  // POSIX send(): ENOTCONN unconnected, EPIPE once shut for writing or the peer is gone, ECONNRESET after a reset.
  // Shutting the read half leaves sending alone.
  'send':             ['ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'CONNECTED',    'EPIPE',        'SHUTDOWN',     'EPIPE',        'ECONNRESET',   'ENOTCONN'],
  // POSIX recv(): what is queued can be read after any shutdown or the peer's close; while connecting, EAGAIN.
  'recv':             ['ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'EAGAIN',      'EAGAIN',      'CONNECTED',    'SHUTDOWN',     'SHUTDOWN',     'DISCONNECTED', 'DISCONNECTED', 'ENOTCONN'],
  // POSIX shutdown(): ENOTCONN "the socket is not connected".
  'shutdown-read':    ['ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'SHUTDOWN',     'SHUTDOWN',     'SHUTDOWN',     'DISCONNECTED', 'DISCONNECTED', 'ENOTCONN'],
  'shutdown-write':   ['ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'ENOTCONN',    'SHUTDOWN',     'SHUTDOWN',     'SHUTDOWN',     'DISCONNECTED', 'DISCONNECTED', 'ENOTCONN'],
  // The peer going away, by a close or a reset, is news only to a connection.
  'peer-closed':      ['EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',      'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'EINVAL'],
  'reset':            ['EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',      'EINVAL',      'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 'EINVAL'],
  // A descriptor closes once: closing it again is EBADF.
  'close':            ['TERMINATED',  'TERMINATED',  'TERMINATED',  'TERMINATED',  'TERMINATED',  'TERMINATED',   'TERMINATED',   'TERMINATED',   'TERMINATED',   'TERMINATED',   'EBADF'],
};

/** Runs `ops` from a fresh socket; every one must be allowed. */
function walk(ops: readonly SocketOp[]): SocketWord {
  let w = INITIAL_WORD;
  for (const op of ops) {
    const r = tryApply(w, op);
    assert.ok(r.ok, `${op} refused on the way (${ops.join(', ')})`);
    w = r.word;
  }
  return w;
}

function describeCell(r: ReturnType<typeof tryApply>): string {
  return r.ok ? statusName(displayStatus(r.word)) : `E${errnoName(r.errno)}`;
}

describe('socket statuses', () => {
  it('are exactly the ten of FIG. 48, numbered in order', () => {
    assert.deepEqual([...STATUS_NAMES], ['UNCONNECTED', 'BOUND', 'LISTENING', 'CONNECTING', 'CONNECTED', 'SENDING', 'RECEIVING',
      'SHUTDOWN', 'DISCONNECTED', 'TERMINATED']);
    assert.equal(statusName(SocketStatus.LISTENING), 'LISTENING');
    assert.equal(statusName(42), 'status 42');
  });

  it('every socket of the specification shows the status it is meant to', () => {
    for (const [name, s] of Object.entries(SOCKETS)) assert.equal(statusName(displayStatus(walk(s.path))), s.shows, name);
  });

  it('the specification has a row for every operation, and a cell for every socket', () => {
    assert.deepEqual(Object.keys(SPEC).sort(), [...SOCKET_OPS].sort());
    for (const [op, row] of Object.entries(SPEC)) assert.equal(row.length, COLUMNS.length, op);
  });

  it('SENDING and RECEIVING are a connection with data in flight, and only that', () => {
    const busy = { sending: true, receiving: false };
    const waiting = { sending: false, receiving: true };
    const connected = walk(CONNECTED);
    assert.equal(displayStatus(connected, busy), SocketStatus.SENDING);
    assert.equal(displayStatus(connected, waiting), SocketStatus.RECEIVING);
    assert.equal(displayStatus(connected, { sending: true, receiving: true }), SocketStatus.SENDING);
    assert.equal(displayStatus(connected, { sending: false, receiving: false }), SocketStatus.CONNECTED);
    // A shut or abandoned connection says so, whatever is in flight.
    assert.equal(displayStatus(walk(SOCKETS['write-shut']!.path), busy), SocketStatus.SHUTDOWN);
    assert.equal(displayStatus(walk(SOCKETS['peer-gone']!.path), waiting), SocketStatus.DISCONNECTED);
    assert.equal(displayStatus(walk(['listen']), busy), SocketStatus.LISTENING);
  });
});

describe('tryApply(): every operation on every socket of the specification', () => {
  for (const op of SOCKET_OPS) {
    it(op, () => {
      SPEC[op].forEach((cell, i) => {
        const name = COLUMNS[i]!;
        const got = describeCell(tryApply(walk(SOCKETS[name]!.path), op));
        assert.equal(got, cell, `${op} on a ${name} socket: expected ${cell}, got ${got}`);
      });
    });
  }
});

describe('the machine over any sequence of operations', () => {
  const ops = fc.array(fc.constantFrom(...SOCKET_OPS), { maxLength: 30 });

  /** Applies what is allowed, skipping refusals; returns each word on the way. */
  const run = (seq: SocketOp[]): SocketWord[] => {
    const words = [INITIAL_WORD];
    for (const op of seq) {
      const r = tryApply(words[words.length - 1]!, op);
      if (r.ok) words.push(r.word);
    }
    return words;
  };

  it('a refusal gives an errno and no new state', () => {
    fc.assert(fc.property(ops, fc.constantFrom(...SOCKET_OPS), (seq, op) => {
      const w = run(seq).pop()!;
      const r = tryApply(w, op);
      if (!r.ok) {
        assert.ok(r.errno > 0 && r.errno !== Errno.SUCCESS);
        assert.equal('word' in r, false);
      }
    }));
  });

  it('TERMINATED is final: after close every operation is refused', () => {
    fc.assert(fc.property(ops, fc.constantFrom(...SOCKET_OPS), (seq, op) => {
      const last = run(seq).pop()!;
      const closed = tryApply(last, 'close');
      // Either it closes now, or the sequence closed it already.
      const word = closed.ok ? closed.word : last;
      assert.equal(displayStatus(word), SocketStatus.TERMINATED);
      assert.equal(tryApply(word, op).ok, false, `${op} after close`);
    }));
  });

  it('a failed connect shows the status from before the connect', () => {
    fc.assert(fc.property(ops, (seq) => {
      const before = run(seq).pop()!;
      const connecting = tryApply(before, 'connect');
      if (!connecting.ok) return;
      const failed = tryApply(connecting.word, 'connect-failed');
      assert.ok(failed.ok);
      assert.equal(statusName(displayStatus(failed.word)), statusName(displayStatus(before)));
    }));
  });

  it('which half was shut is kept: once shut for writing, sends fail until close; reads go on', () => {
    fc.assert(fc.property(ops, ops, (a, b) => {
      const shut = tryApply(run([...CONNECTED, ...a.filter((op) => op !== 'close')]).pop()!, 'shutdown-write');
      if (!shut.ok) return;
      let w = shut.word;
      for (const op of b) {
        if (op === 'close') break;
        const r = tryApply(w, op);
        if (r.ok) w = r.word;
        assert.equal(tryApply(w, 'send').ok, false, `send allowed after shutdown-write, ${op}`);
        assert.equal(tryApply(w, 'recv').ok, true, `recv refused after shutdown-write, ${op}`);
      }
    }));
  });

  it('every word reached shows one of the ten statuses, and a connection shows no status of an unconnected socket', () => {
    fc.assert(fc.property(ops, (seq) => {
      for (const w of run(seq)) {
        const s = statusName(displayStatus(w));
        assert.ok(STATUS_NAMES.includes(s), s);
        if (tryApply(w, 'recv').ok) assert.ok(!['UNCONNECTED', 'BOUND', 'LISTENING', 'CONNECTING'].includes(s), s);
      }
    }));
  });
});

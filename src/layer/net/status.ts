// The socket state machine, the single source of truth for what a socket may
// do. A socket stores few states plus flags, packed in one word (so the layer
// can publish it to the owning enclave with one atomic store); every
// operation goes through tryApply(); the ten statuses of the socket table
// (FIG. 48) are derived from the word by displayStatus() and nowhere else.

import { Errno } from '../../core/errno.js';

/** The stored states (low 4 bits of the word). */
export const SocketState = {
  /** Fresh: unconnected, bound or not (see Flag.BOUND). */
  OPEN: 0,
  LISTENING: 1,
  CONNECTING: 2,
  CONNECTED: 3,
  CLOSED: 4,
} as const;
export type SocketState = (typeof SocketState)[keyof typeof SocketState];

/** Flags (above the state bits): what happened to an open or connected socket. */
export const Flag = {
  /** Has a local address given by bind() or listen(); a failed connect returns to it. */
  BOUND: 1 << 4,
  /** shutdown(SHUT_RD) */
  READ_SHUT: 1 << 5,
  /** shutdown(SHUT_WR) */
  WRITE_SHUT: 1 << 6,
  /** The peer closed its end; what is queued can still be read. */
  PEER_CLOSED: 1 << 7,
  /** The connection was reset (by the peer or the host network). */
  RESET: 1 << 8,
} as const;

const STATE_MASK = 0xf;

/** A socket's whole state: a SocketState ORed with Flags. */
export type SocketWord = number;

export const INITIAL_WORD: SocketWord = SocketState.OPEN;

export const stateOf = (w: SocketWord): SocketState => (w & STATE_MASK) as SocketState;
export const has = (w: SocketWord, flag: number): boolean => (w & flag) !== 0;
const withState = (w: SocketWord, s: SocketState): SocketWord => (w & ~STATE_MASK) | s;

/** The ten statuses of the socket table (FIG. 48), as users see them. */
export const SocketStatus = {
  UNCONNECTED: 0,
  BOUND: 1,
  LISTENING: 2,
  CONNECTING: 3,
  CONNECTED: 4,
  /** CONNECTED with bytes queued to send, or a sender blocked on a full queue. */
  SENDING: 5,
  /** CONNECTED with a receiver blocked waiting for data. */
  RECEIVING: 6,
  /** Half- or fully shut down by this side. */
  SHUTDOWN: 7,
  /** The peer went away (closed or reset); what is queued can still be read. */
  DISCONNECTED: 8,
  /** Closed; the entry is about to be freed. */
  TERMINATED: 9,
} as const;
export type SocketStatus = (typeof SocketStatus)[keyof typeof SocketStatus];

export const STATUS_NAMES: readonly string[] = Object.keys(SocketStatus);

export function statusName(s: number): string {
  return STATUS_NAMES[s] ?? `status ${s}`;
}

/** Data in flight on a connected stream, which the table observes but does not store. */
export interface Activity {
  sending: boolean;
  receiving: boolean;
}

/** The FIG. 48 status of a socket: the one place it is derived. */
export function displayStatus(w: SocketWord, activity?: Activity): SocketStatus {
  switch (stateOf(w)) {
    case SocketState.OPEN: return has(w, Flag.BOUND) ? SocketStatus.BOUND : SocketStatus.UNCONNECTED;
    case SocketState.LISTENING: return SocketStatus.LISTENING;
    case SocketState.CONNECTING: return SocketStatus.CONNECTING;
    case SocketState.CLOSED: return SocketStatus.TERMINATED;
    default:
      if (has(w, Flag.PEER_CLOSED | Flag.RESET)) return SocketStatus.DISCONNECTED;
      if (has(w, Flag.READ_SHUT | Flag.WRITE_SHUT)) return SocketStatus.SHUTDOWN;
      if (activity?.sending) return SocketStatus.SENDING;
      if (activity?.receiving) return SocketStatus.RECEIVING;
      return SocketStatus.CONNECTED;
  }
}

export type SocketOp =
  | 'bind' | 'listen' | 'connect' | 'connect-datagram' | 'connected' | 'connect-failed' | 'incoming'
  | 'accept' | 'send' | 'recv' | 'shutdown-read' | 'shutdown-write' | 'peer-closed' | 'reset' | 'close';

export const SOCKET_OPS: readonly SocketOp[] = ['bind', 'listen', 'connect', 'connect-datagram', 'connected',
  'connect-failed', 'incoming', 'accept', 'send', 'recv', 'shutdown-read', 'shutdown-write', 'peer-closed', 'reset', 'close'];

export type Applied = { ok: true; word: SocketWord } | { ok: false; errno: number };

const ok = (word: SocketWord): Applied => ({ ok: true, word });
const no = (errno: number): Applied => ({ ok: false, errno });

/**
 * The word after `op`, or the errno POSIX gives for it from this state.
 * Pure: a refusal changes nothing.
 */
export function tryApply(w: SocketWord, op: SocketOp): Applied {
  const s = stateOf(w);
  const { OPEN, LISTENING, CONNECTING, CONNECTED, CLOSED } = SocketState;
  switch (op) {
    case 'bind':
      return s === OPEN && !has(w, Flag.BOUND) ? ok(w | Flag.BOUND) : no(Errno.INVAL);
    // listen() on an unbound socket binds it to an ephemeral port first, as Linux does; again, it changes the backlog.
    case 'listen':
      return s === OPEN || s === LISTENING ? ok(withState(w, LISTENING) | Flag.BOUND) : no(Errno.INVAL);
    case 'connect':
      if (s === OPEN) return ok(withState(w, CONNECTING));
      return no(s === CONNECTING ? Errno.ALREADY : s === LISTENING ? Errno.INVAL : s === CLOSED ? Errno.BADF : Errno.ISCONN);
    // A datagram socket may set or change its default peer at any time while it is not shut.
    case 'connect-datagram':
      return s === OPEN || (s === CONNECTED && !has(w, Flag.READ_SHUT | Flag.WRITE_SHUT | Flag.PEER_CLOSED | Flag.RESET))
        ? ok(withState(w, CONNECTED)) : no(Errno.INVAL);
    case 'connected':
      return s === CONNECTING ? ok(withState(w, CONNECTED)) : no(Errno.INVAL);
    // A failed connect leaves the socket as it was before: unbound, or bound to its address.
    case 'connect-failed':
      return s === CONNECTING ? ok(withState(w, OPEN)) : no(Errno.INVAL);
    // A connection the layer creates for an arriving client is connected from birth, at the listener's address.
    case 'incoming':
      return w === INITIAL_WORD ? ok(SocketState.CONNECTED | Flag.BOUND) : no(Errno.INVAL);
    case 'accept':
      return s === LISTENING ? ok(w) : no(Errno.INVAL);
    case 'send':
      if (s !== CONNECTED) return no(Errno.NOTCONN);
      if (has(w, Flag.RESET)) return no(Errno.CONNRESET);
      return has(w, Flag.WRITE_SHUT | Flag.PEER_CLOSED) ? no(Errno.PIPE) : ok(w);
    case 'recv':
      return s === CONNECTED ? ok(w) : no(s === CONNECTING ? Errno.AGAIN : Errno.NOTCONN);
    case 'shutdown-read':
      return s === CONNECTED ? ok(w | Flag.READ_SHUT) : no(Errno.NOTCONN);
    case 'shutdown-write':
      return s === CONNECTED ? ok(w | Flag.WRITE_SHUT) : no(Errno.NOTCONN);
    case 'peer-closed':
      return s === CONNECTED ? ok(w | Flag.PEER_CLOSED) : no(Errno.INVAL);
    case 'reset':
      return s === CONNECTED ? ok(w | Flag.RESET) : no(Errno.INVAL);
    case 'close':
      return s === CLOSED ? no(Errno.BADF) : ok(withState(w, CLOSED));
  }
}

// The ten socket statuses of the socket table (FIG. 48) and every operation
// as a transition between them, defined here and nowhere else. An operation
// from a status that does not allow it fails with the errno POSIX gives.

import { Errno } from '../../core/errno.js';

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
  /** The peer went away; what is queued can still be read. */
  DISCONNECTED: 8,
  /** Closed; the entry is about to be freed. */
  TERMINATED: 9,
} as const;

export type SocketStatus = (typeof SocketStatus)[keyof typeof SocketStatus];

export const STATUS_NAMES: readonly string[] = Object.keys(SocketStatus);

export function statusName(s: number): string {
  return STATUS_NAMES[s] ?? `status ${s}`;
}

export type SocketOp =
  | 'bind' | 'listen' | 'connect' | 'connect-datagram' | 'connected' | 'connect-failed' | 'connect-failed-bound'
  | 'accept' | 'send' | 'recv' | 'shutdown' | 'peer-closed' | 'close';

const S = SocketStatus;
const ANY = Object.values(S) as SocketStatus[];
const LIVE = [S.CONNECTED, S.SENDING, S.RECEIVING] as SocketStatus[];

interface Rule {
  /** Statuses the operation is allowed from, and the status it leads to (undefined: unchanged). */
  from: readonly SocketStatus[];
  to?: SocketStatus;
  /** errno for each refused status; `otherwise` for the rest. */
  refused?: Partial<Record<SocketStatus, number>>;
  otherwise: number;
}

export const TRANSITIONS: Readonly<Record<SocketOp, Rule>> = {
  bind: { from: [S.UNCONNECTED], to: S.BOUND, otherwise: Errno.INVAL },
  // listen() on an unbound socket binds it to an ephemeral port first, as Linux does.
  listen: { from: [S.UNCONNECTED, S.BOUND, S.LISTENING], to: S.LISTENING, otherwise: Errno.INVAL },
  connect: { from: [S.UNCONNECTED, S.BOUND], to: S.CONNECTING,
    refused: { [S.CONNECTING]: Errno.ALREADY, [S.LISTENING]: Errno.INVAL, [S.TERMINATED]: Errno.BADF },
    otherwise: Errno.ISCONN },
  // A datagram socket may set or change its default peer at any time.
  'connect-datagram': { from: [S.UNCONNECTED, S.BOUND, ...LIVE], to: S.CONNECTED, otherwise: Errno.INVAL },
  connected: { from: [S.CONNECTING], to: S.CONNECTED, otherwise: Errno.INVAL },
  // A failed connect leaves the socket as it was before: unbound, or bound to its address.
  'connect-failed': { from: [S.CONNECTING], to: S.UNCONNECTED, otherwise: Errno.INVAL },
  'connect-failed-bound': { from: [S.CONNECTING], to: S.BOUND, otherwise: Errno.INVAL },
  accept: { from: [S.LISTENING], otherwise: Errno.INVAL },
  send: { from: LIVE,
    refused: { [S.SHUTDOWN]: Errno.PIPE, [S.DISCONNECTED]: Errno.PIPE, [S.CONNECTING]: Errno.NOTCONN },
    otherwise: Errno.NOTCONN },
  recv: { from: [...LIVE, S.SHUTDOWN, S.DISCONNECTED],
    refused: { [S.CONNECTING]: Errno.AGAIN }, otherwise: Errno.NOTCONN },
  shutdown: { from: [...LIVE, S.SHUTDOWN, S.DISCONNECTED], to: S.SHUTDOWN, otherwise: Errno.NOTCONN },
  'peer-closed': { from: [...LIVE, S.SHUTDOWN, S.CONNECTING], to: S.DISCONNECTED, otherwise: Errno.INVAL },
  close: { from: ANY, to: S.TERMINATED, otherwise: Errno.BADF },
};

/** The status `op` leads to from `status`, or the errno it fails with. */
export function transition(status: SocketStatus, op: SocketOp): { ok: true; to: SocketStatus } | { ok: false; errno: number } {
  const rule = TRANSITIONS[op];
  if (rule.from.includes(status)) return { ok: true, to: rule.to ?? status };
  return { ok: false, errno: rule.refused?.[status] ?? rule.otherwise };
}

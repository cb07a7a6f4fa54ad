// The "event" part of a socket structure, in shared memory: written by the
// layer (host thread), read by the enclave that owns the socket, so that the
// guest sees status changes, pending connections and errors without a call
// across threads. After every change the layer wakes the owner's polls.

const STATUS = 0;
const PENDING = 1;
const ERROR = 2;
const INBOX = 3;
const SIZE = 4;

export class ControlBlock {
  readonly words: Int32Array;

  constructor(readonly sab: SharedArrayBuffer = new SharedArrayBuffer(SIZE * 4)) {
    this.words = new Int32Array(sab);
  }

  get status(): number { return Atomics.load(this.words, STATUS); }
  set status(s: number) { Atomics.store(this.words, STATUS, s); }

  /** Connections waiting in a listening socket's queue. */
  get pending(): number { return Atomics.load(this.words, PENDING); }
  set pending(n: number) { Atomics.store(this.words, PENDING, n); }

  /** A pending error (an errno) for SO_ERROR and failed non-blocking connects; 0 if none. */
  get error(): number { return Atomics.load(this.words, ERROR); }
  set error(e: number) { Atomics.store(this.words, ERROR, e); }

  /** Datagram sockets: bumped whenever the layer adds a ring to the socket's inbox (see inbox.ts). */
  get inbox(): number { return Atomics.load(this.words, INBOX); }
  set inbox(n: number) { Atomics.store(this.words, INBOX, n); }

  /** Reads and clears the pending error, as SO_ERROR does. */
  takeError(): number {
    return Atomics.exchange(this.words, ERROR, 0);
  }
}

// A socket as the guest's descriptor, on the enclave's side. Control
// operations (bind, listen, connect, accept, close) are calls to the layer;
// data moves through the shared queues the layer handed over, with no call
// at all: guest to guest, one copy in and one copy out.

import { Errno, SysError } from '../../core/errno.js';
import { FdFlags, Filetype, SOCKET_RIGHTS } from '../../core/witx.js';
import { Descriptor, type Readiness } from '../descriptor.js';
import type { NodeStat } from '../fs/backend.js';
import { Ring, RingFlag } from '../ring.js';
import { isSuspension, spinUntil, waitUntil } from '../ring-wait.js';
import type { Family, SockAddr } from '../../core/net/address.js';
import { ControlBlock } from './control-block.js';
import { DIRECT_FAILED, DIRECT_UNAVAILABLE, HostFdLease, Reader } from './host-fd.js';
import { MAX_DATAGRAM, putDatagram } from './datagram.js';
import { InboxReader, type InboxRing } from './inbox.js';
import { defaultOptions, type SocketOptions } from './options.js';
import type { AcceptReply, ConnectReply, OpenReply, ReattachReply, RouteReply, SocketContext, SockType, StreamEnds } from './protocol.js';
import type { SealedSocket } from './sealed.js';
import { formatAddr } from '../../core/net/address.js';
import { displayStatus, Flag, has, SocketState, stateOf, tryApply, type SocketOp, type SocketStatus } from './status.js';

const NOT_READY: Readiness = { ready: false, nbytes: 0n, hangup: false };
/** Datagram routes a socket remembers; past it the oldest is asked for again (a spray of destinations holds no more). */
const MAX_ROUTES = 256;
/** Peers the usage report counts one by one; the rest are counted together under OTHER_PEERS. */
export const MAX_USAGE_PEERS = 1024;
export const OTHER_PEERS = 'other peers';
/** How long a blocking send retries a full host socket itself before queuing the rest for the host. */
const DIRECT_RETRY_MS = 0.05;
/**
 * How long a blocking receive on a bridged stream reads the host socket
 * itself, again and again, before it gives the reads back to the host and
 * sleeps: a host peer's reply comes tens of microseconds after the request,
 * and catching it here saves two thread wake-ups (the host's and this
 * one's). Only while the last wait was this short: a slow peer's stream
 * keeps the host reading, as waking costs less than spinning for it.
 */
const DIRECT_SPIN_MS = 0.2;

/** Wakes the enclave behind `control` (its event epoch is word 0). */
function waker(control: SharedArrayBuffer | undefined): (() => void) | undefined {
  if (!control) return undefined;
  const words = new Int32Array(control);
  return () => { Atomics.add(words, 0, 1); Atomics.notify(words, 0); };
}

function nsToMs(ns: number | null): number {
  return ns === null || ns <= 0 ? Infinity : ns / 1e6;
}

export interface Received {
  bytes: number;
  truncated: boolean;
  from: SockAddr | undefined;
}

export class SocketDescriptor extends Descriptor {
  readonly filetype: number;
  readonly options: SocketOptions = defaultOptions();
  private rx: Ring | undefined;
  private tx: Ring | undefined;
  /** A bridged stream's host descriptor, written directly while the send queue is empty, read while the host lets it. */
  private direct: HostFdLease | undefined;
  /** A direct read saw the end of the stream (the host's next read sees it too). */
  private directEnded = false;
  /** How long the last blocking receive waited for data (ms): short, and the next one reads the socket itself. */
  private lastWaitMs = Infinity;
  /** Datagram sockets: what they receive, one ring per sender. */
  private readonly inbox: InboxReader | undefined;
  private readonly block: ControlBlock;
  local: SockAddr | undefined;
  peer: SockAddr | undefined;
  private closed = false;
  /** Datagram destinations already routed by the layer. */
  private readonly routes = new Map<string, { ring: Ring; stamp: SockAddr }>();

  private readonly net: SocketContext['net'];
  private readonly events: SocketContext['events'];

  constructor(
    private readonly ctx: SocketContext,
    readonly id: number,
    readonly family: Family,
    readonly type: SockType,
    block: SharedArrayBuffer,
  ) {
    super(SOCKET_RIGHTS, 0);
    this.net = ctx.net;
    this.events = ctx.events;
    ctx.usage.socketsOpened++;
    this.filetype = type === 'stream' ? Filetype.SOCKET_STREAM : Filetype.SOCKET_DGRAM;
    this.block = new ControlBlock(block);
    if (type === 'dgram') this.inbox = new InboxReader(this.block, () => this.net.call<InboxRing[]>({ op: 'inbox', id: this.id }));
  }

  static open(ctx: SocketContext, fd: number, family: Family, type: SockType): SocketDescriptor {
    const r = ctx.net.call<OpenReply>({ op: 'open', fd, family, type });
    return new SocketDescriptor(ctx, r.id, family, type, r.block);
  }

  /** Counts bytes moved with `peer` for the usage report. */
  private count(peer: SockAddr | undefined, sent: number, received: number): void {
    const peers = this.ctx.usage.peers;
    let key = formatAddr(peer);
    if (!peers.has(key) && peers.size >= MAX_USAGE_PEERS) key = OTHER_PEERS;
    let c = peers.get(key);
    if (!c) peers.set(key, (c = { sent: 0, received: 0 }));
    c.sent += sent;
    c.received += received;
  }

  /** The FIG. 48 status, as the layer last published it. */
  get status(): SocketStatus {
    return displayStatus(this.block.status);
  }

  private get state(): SocketState {
    return stateOf(this.block.status);
  }

  private get readShut(): boolean {
    return has(this.block.status, Flag.READ_SHUT);
  }

  get nonblocking(): boolean {
    return (this.fdflags & FdFlags.NONBLOCK) !== 0;
  }

  /** Takes over the queues of a connected stream. */
  private join(ends: StreamEnds): void {
    const wakePeer = waker(ends.peerControl);
    this.rx = new Ring(ends.rx);
    this.tx = new Ring(ends.tx);
    if (ends.hostFd) this.direct = new HostFdLease(ends.hostFd);
    if (wakePeer) {
      this.tx.onReaderWaiting = wakePeer;
      this.rx.onWriterWaiting = wakePeer;
    }
  }

  /** Waits until `done()` holds, re-checking whenever the layer signals; false on timeout. */
  private waitFor(done: () => boolean, timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = this.events.epoch();
      if (done()) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      this.events.wait(seen, left);
    }
  }

  /** Data moves without the layer: the owner applies the same rules to the state the layer published. */
  private check(op: SocketOp): void {
    const r = tryApply(this.block.status, op);
    if (!r.ok) throw new SysError(r.errno);
  }

  bind(addr: SockAddr): void {
    this.local = this.net.call<{ local: SockAddr }>({ op: 'bind', id: this.id, addr }).local;
  }

  listen(backlog: number): void {
    this.local = this.net.call<{ local: SockAddr }>({ op: 'listen', id: this.id, backlog }).local;
  }

  connect(addr: SockAddr): void {
    const r = this.net.call<ConnectReply>({ op: 'connect', id: this.id, addr });
    this.local = r.local;
    this.peer = r.peer;
    if (r.ends) this.join(r.ends);
    if (this.type === 'dgram') return;
    if (this.nonblocking) throw new SysError(Errno.INPROGRESS);
    if (!r.pending) return;
    const ok = this.waitFor(() => this.state !== SocketState.CONNECTING, nsToMs(this.options.connectTimeout));
    if (!ok) throw new SysError(Errno.TIMEDOUT);
    if (this.state !== SocketState.CONNECTED) throw new SysError(this.block.takeError() || Errno.CONNREFUSED);
  }

  /** Accepts a connection into descriptor number `fd` (blocking unless non-blocking). */
  accept(fd: number, nonblocking: boolean): SocketDescriptor {
    for (;;) {
      try {
        const r = this.net.call<AcceptReply>({ op: 'accept', id: this.id, fd });
        const s = new SocketDescriptor(this.ctx, r.id, this.family, 'stream', r.block);
        s.join(r.ends);
        s.local = r.local;
        s.peer = r.peer;
        Object.assign(s.options, this.options);
        return s;
      } catch (err) {
        if (!(err instanceof SysError) || err.errno !== Errno.AGAIN || nonblocking) throw err;
      }
      if (!this.waitFor(() => this.block.pending > 0 || this.state !== SocketState.LISTENING, nsToMs(this.options.acceptTimeout))) {
        throw new SysError(Errno.AGAIN);
      }
    }
  }

  shutdown(read: boolean, write: boolean): void {
    this.net.call({ op: 'shutdown', id: this.id, read, write });
  }

  setOption(name: keyof SocketOptions, value: number | boolean | null): void {
    (this.options as unknown as Record<string, unknown>)[name] = value;
    this.net.call({ op: 'setopt', id: this.id, option: name, value });
  }

  /** SO_ERROR: the pending error, cleared by reading it. */
  takeError(): number {
    return this.block.takeError();
  }

  override write(bufs: Uint8Array[]): number {
    return this.send(bufs, false);
  }

  override read(bufs: Uint8Array[]): number {
    return this.recv(bufs, false, false, false).bytes;
  }

  send(bufs: Uint8Array[], dontWait: boolean): number {
    const n = this.sendStream(bufs, dontWait);
    this.count(this.peer, n, 0);
    return n;
  }

  recv(bufs: Uint8Array[], peek: boolean, waitAll: boolean, dontWait: boolean): Received {
    const r = this.recvAny(bufs, peek, waitAll, dontWait);
    if (!peek) this.count(r.from ?? this.peer, 0, r.bytes);
    return r;
  }

  private sendStream(bufs: Uint8Array[], dontWait: boolean): number {
    if (this.type === 'dgram') {
      if (!this.peer) throw new SysError(Errno.DESTADDRREQ);
      return this.sendDatagram(bufs, this.peer);
    }
    this.check('send');
    const tx = this.tx!;
    let total = 0;
    for (const b of bufs) total += b.byteLength;
    let sent = 0;
    let bi = 0, off = 0;
    const nonblocking = dontWait || this.nonblocking;
    // A bridged stream's bytes go straight to the host socket when nothing is queued before them; only what it
    // does not take is queued for the host. A blocking send first waits for the queue to reach the socket, so a
    // stream keeps writing itself (it then buffers what a native socket does: the kernel's socket buffer).
    if (this.direct && total > 0 && tx.used > 0 && !nonblocking) {
      this.direct.giveBackReads(this.quickPeer);
      waitUntil(tx, false, () => tx.used === 0 || tx.flag(RingFlag.READER_CLOSED | RingFlag.RESET), nsToMs(this.options.sendTimeout));
    }
    if (this.direct && tx.used === 0 && total > 0) {
      sent = this.sendDirect(this.direct, tx, bufs, total, nonblocking);
      if (sent === total) return total;
      let n = sent;
      while (bi < bufs.length && n >= bufs[bi]!.byteLength) n -= bufs[bi++]!.byteLength;
      off = n;
    }
    const slice = Math.max(4096, tx.capacity >>> 2);
    while (sent < total) {
      if (tx.flag(RingFlag.RESET)) throw new SysError(Errno.CONNRESET);
      if (tx.flag(RingFlag.READER_CLOSED)) {
        if (sent > 0) return sent;
        throw new SysError(Errno.PIPE);
      }
      while (bi < bufs.length) {
        const b = bufs[bi]!;
        // Publishing in slices lets the reader start on the first while the rest is copied.
        const n = tx.tryWrite(b.subarray(off, off + slice));
        sent += n;
        off += n;
        if (off < b.byteLength) {
          if (n === 0 || tx.free === 0) break;
          continue;
        }
        bi++; off = 0;
      }
      if (sent === total) break;
      if (nonblocking) {
        if (sent > 0) return sent;
        throw new SysError(Errno.AGAIN);
      }
      let ok: boolean;
      // The host reads while this thread sleeps (a peer may wait for its bytes to be read before it reads ours).
      this.direct?.giveBackReads(this.quickPeer);
      try {
        ok = waitUntil(tx, false, () => tx.free > 0 || tx.flag(RingFlag.READER_CLOSED | RingFlag.RESET),
          nsToMs(this.options.sendTimeout));
      } catch (err) {
        // Asked to suspend with part sent: a short send (the rest is sent again by the guest, after resume).
        if (sent > 0 && isSuspension(err)) return sent;
        throw err;
      }
      if (!ok) {
        if (sent > 0) return sent;
        throw new SysError(Errno.AGAIN);
      }
    }
    return sent;
  }

  /**
   * Writes to the host socket itself (the send queue is empty). A blocking
   * send whose socket buffer is full tries again for a moment (a reader
   * that keeps up frees room within microseconds) before the rest goes to
   * the queue, which the host writes as the socket drains.
   */
  private sendDirect(direct: HostFdLease, tx: Ring, bufs: Uint8Array[], total: number, nonblocking: boolean): number {
    let sent = 0;
    let until = 0;
    for (;;) {
      if (tx.flag(RingFlag.RESET | RingFlag.READER_CLOSED | RingFlag.WRITER_CLOSED)) return sent;
      const n = direct.write(sent === 0 ? bufs : trimmed(bufs, sent));
      if (n === DIRECT_UNAVAILABLE) return sent;
      sent += n;
      if (sent === total || nonblocking) return sent;
      if (n === 0) {
        const now = performance.now();
        if (until === 0) until = now + DIRECT_RETRY_MS;
        else if (now >= until) return sent;
      }
    }
  }

  sendTo(bufs: Uint8Array[], to: SockAddr): number {
    return this.type === 'stream' ? this.send(bufs, false) : this.sendDatagram(bufs, to);
  }

  private sendDatagram(bufs: Uint8Array[], to: SockAddr): number {
    let total = 0;
    for (const b of bufs) total += b.byteLength;
    if (total > MAX_DATAGRAM) throw new SysError(Errno.MSGSIZE);
    const key = `${to.ip}|${to.port}`;
    let route = this.routes.get(key);
    if (route && route.ring.flag(RingFlag.READER_CLOSED)) {
      this.routes.delete(key);
      route = undefined;
    }
    if (!route) {
      const r = this.net.call<RouteReply>({ op: 'route', id: this.id, addr: to });
      this.local = r.local;
      if (r.kind === 'drop') return total;
      const ring = new Ring(r.queue);
      const wake = waker(r.peerControl);
      if (wake) ring.onReaderWaiting = wake;
      route = { ring, stamp: r.stamp };
      if (this.routes.size >= MAX_ROUTES) this.routes.delete(this.routes.keys().next().value!);
      this.routes.set(key, route);
    }
    // A full queue drops the datagram, as UDP does.
    putDatagram(route.ring, route.stamp, bufs);
    this.count(to, total, 0);
    return total;
  }

  private recvAny(bufs: Uint8Array[], peek: boolean, waitAll: boolean, dontWait: boolean): Received {
    const nonblocking = dontWait || this.nonblocking;
    if (this.type === 'dgram') return this.recvDatagram(bufs, peek, nonblocking);
    if (this.state === SocketState.CONNECTING && !nonblocking) {
      this.waitFor(() => this.state !== SocketState.CONNECTING, nsToMs(this.options.connectTimeout));
    }
    this.check('recv');
    if (this.readShut) return { bytes: 0, truncated: false, from: undefined };
    const rx = this.rx!;
    let total = 0;
    for (const b of bufs) total += b.byteLength;
    // A peek cannot be made on the host socket without taking the bytes: the host reads them into the queue.
    if (peek) this.direct?.giveBackReads();
    const direct = peek || total === 0 ? undefined : this.direct;
    let waitStart = 0;
    for (;;) {
      if (rx.flag(RingFlag.RESET)) throw new SysError(Errno.CONNRESET);
      let got = 0;
      if (rx.used > 0) {
        got = this.takeQueued(rx, bufs, total, peek);
        if (got === 0) return { bytes: 0, truncated: false, from: this.peer }; // a zero-length receive
      } else if (rx.flag(RingFlag.WRITER_CLOSED) || this.directEnded) {
        return { bytes: 0, truncated: false, from: this.peer };
      } else if (direct && direct.reader === Reader.ENCLAVE) {
        got = this.readDirect(direct, bufs);
        // A peer that answers quickly: read the socket until its bytes come (a few system calls), instead of sleeping.
        if (got === 0 && !nonblocking && !this.directEnded && this.quickPeer) {
          if (waitStart === 0) waitStart = performance.now();
          got = this.spinDirect(rx, direct, bufs);
        }
        if (got === 0 && this.directEnded) return { bytes: 0, truncated: false, from: this.peer };
      }
      if (got > 0) {
        if (waitStart !== 0) this.lastWaitMs = performance.now() - waitStart;
        if (!waitAll || got === total || peek) return { bytes: got, truncated: false, from: this.peer };
        try {
          const more = this.recvAny(trimmed(bufs, got), false, true, dontWait);
          return { bytes: got + more.bytes, truncated: false, from: this.peer };
        } catch (err) {
          // Asked to suspend with part received: a short read, so no byte taken is lost.
          if (isSuspension(err)) return { bytes: got, truncated: false, from: this.peer };
          throw err;
        }
      }
      if (nonblocking) throw new SysError(Errno.AGAIN);
      if (waitStart === 0) waitStart = performance.now();
      // Only the host can wait for the socket: it reads again, into the queue, which wakes this wait (and, for a
      // quick peer, hands the reads back with those bytes). Reads handed back meanwhile end the wait too.
      direct?.giveBackReads(this.quickPeer);
      const ready = (): boolean => rx.used > 0 || rx.flag(RingFlag.WRITER_CLOSED | RingFlag.RESET) || direct?.reader === Reader.ENCLAVE;
      if (!waitUntil(rx, true, ready, nsToMs(this.options.recvTimeout))) {
        direct?.giveBackReads();
        throw new SysError(Errno.AGAIN);
      }
      this.lastWaitMs = performance.now() - waitStart;
    }
  }

  /** The last wait for this stream's bytes was short: its peer answers quickly. */
  private get quickPeer(): boolean {
    return this.lastWaitMs <= DIRECT_SPIN_MS;
  }

  /** Copies (or peeks) what the receive queue holds into `bufs`: the bytes taken. */
  private takeQueued(rx: Ring, bufs: Uint8Array[], total: number, peek: boolean): number {
    const avail = rx.used;
    let got = 0;
    let bi = 0;
    while (bi < bufs.length && got < total && got < avail) {
      const b = bufs[bi]!;
      const n = Math.min(b.byteLength, avail - got);
      if (peek) rx.peek(b.subarray(0, n), got);
      else rx.tryRead(b.subarray(0, n));
      got += n;
      if (n < b.byteLength) break;
      bi++;
    }
    return got;
  }

  /**
   * Reads the host socket itself (the host has handed over its reads, the
   * receive queue is empty): the bytes read, or 0 for none yet (or at the
   * end of the stream, then `directEnded`). A broken connection is
   * ECONNRESET, and the host ends the stream as it would have.
   */
  private readDirect(direct: HostFdLease, bufs: Uint8Array[]): number {
    const n = direct.read(bufs);
    if (n > 0) return n;
    if (n === 0) {
      // The host's next read sees the end too, and marks the queue ended.
      this.directEnded = true;
      direct.giveBackReads();
      return 0;
    }
    if (n === DIRECT_FAILED) throw new SysError(Errno.CONNRESET);
    return 0;
  }

  /** Reads the host socket until bytes come, for DIRECT_SPIN_MS at most (or the reads or the queue change): the bytes read. */
  private spinDirect(rx: Ring, direct: HostFdLease, bufs: Uint8Array[]): number {
    const until = performance.now() + DIRECT_SPIN_MS;
    do {
      if (rx.flag(RingFlag.WRITER_CLOSED | RingFlag.RESET) || direct.reader !== Reader.ENCLAVE) return 0;
      const n = this.readDirect(direct, bufs);
      if (n > 0 || this.directEnded) return n;
    } while (performance.now() < until);
    return 0;
  }

  private recvDatagram(bufs: Uint8Array[], peek: boolean, nonblocking: boolean): Received {
    const inbox = this.inbox!;
    for (;;) {
      const d = inbox.take(bufs, peek);
      if (d) return { bytes: d.copied, truncated: d.copied < d.length, from: d.from };
      if (this.closed) throw new SysError(Errno.BADF);
      if (nonblocking) throw new SysError(Errno.AGAIN);
      if (!this.waitInbox(nsToMs(this.options.recvTimeout))) throw new SysError(Errno.AGAIN);
    }
  }

  /** Waits for a datagram on any of the inbox's rings (each sender wakes this enclave's epoch); false on timeout. */
  private waitInbox(timeoutMs: number): boolean {
    const inbox = this.inbox!;
    if (spinUntil(() => inbox.ready())) return true;
    inbox.setWaiting(true);
    try {
      return this.waitFor(() => inbox.ready(), timeoutMs);
    } finally {
      inbox.setWaiting(false);
    }
  }

  override pollRead(): Readiness {
    if (this.state === SocketState.LISTENING) {
      const n = this.block.pending;
      return n > 0 ? { ready: true, nbytes: BigInt(n), hangup: false } : NOT_READY;
    }
    if (this.inbox) return this.pollInbox(this.inbox);
    const rx = this.rx;
    if (!rx) return { ready: true, nbytes: 0n, hangup: true };
    if (this.directEnded && rx.used === 0) return { ready: true, nbytes: 0n, hangup: true };
    // Only the host can wait for the socket to become readable: what comes goes through the queue, which wakes the poll.
    this.direct?.giveBackReads();
    const used = rx.used;
    const closed = rx.flag(RingFlag.WRITER_CLOSED | RingFlag.RESET);
    if (used > 0 || closed || this.readShut || this.block.error) {
      rx.setWaiting(true, false);
      return { ready: true, nbytes: BigInt(used), hangup: closed && used === 0 };
    }
    // Ask whoever writes this queue to wake our polls.
    rx.setWaiting(true, true);
    if (rx.used > 0) return { ready: true, nbytes: BigInt(rx.used), hangup: false };
    return NOT_READY;
  }

  private pollInbox(inbox: InboxReader): Readiness {
    inbox.refresh();
    if (inbox.used > 0 || this.block.error) {
      inbox.setWaiting(false);
      return { ready: true, nbytes: BigInt(inbox.used), hangup: false };
    }
    // Ask every sender to wake our polls; a new sender's ring moves the inbox counter, which wakes them too.
    inbox.setWaiting(true);
    const used = inbox.used;
    return used > 0 ? { ready: true, nbytes: BigInt(used), hangup: false } : NOT_READY;
  }

  override pollWrite(): Readiness {
    if (this.type === 'dgram') return { ready: true, nbytes: 0n, hangup: false };
    const state = this.state;
    if (state === SocketState.CONNECTING) return this.block.error ? { ready: true, nbytes: 0n, hangup: true } : NOT_READY;
    const tx = this.tx;
    if (!tx) return { ready: true, nbytes: 0n, hangup: state !== SocketState.LISTENING };
    if (tx.flag(RingFlag.READER_CLOSED | RingFlag.RESET)) return { ready: true, nbytes: 0n, hangup: true };
    if (tx.free > 0) {
      tx.setWaiting(false, false);
      return { ready: true, nbytes: BigInt(tx.free), hangup: false };
    }
    tx.setWaiting(false, true);
    return tx.free > 0 ? { ready: true, nbytes: BigInt(tx.free), hangup: false } : NOT_READY;
  }

  override stat(): NodeStat {
    return { dev: 0n, ino: BigInt(this.id), filetype: this.filetype, nlink: 1n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n };
  }

  /** The socket as the guest holds it, for a sealed system snapshot (the entry travels with the network). */
  sealed(fd: number): SealedSocket {
    return {
      fd, id: this.id, family: this.family, type: this.type, fdflags: this.fdflags, options: { ...this.options },
      ...(this.local ? { local: this.local } : {}), ...(this.peer ? { peer: this.peer } : {}),
    };
  }

  /** A socket of a resumed system guest, taken back from the layer (its entry and queues restored there). */
  static reattach(ctx: SocketContext, s: SealedSocket): SocketDescriptor {
    const r = ctx.net.call<ReattachReply>({ op: 'reattach', id: s.id });
    const d = new SocketDescriptor(ctx, s.id, s.family, s.type, r.block);
    ctx.usage.socketsOpened--;
    Object.assign(d.options, s.options);
    d.fdflags = s.fdflags;
    if (s.local) d.local = s.local;
    if (s.peer) d.peer = s.peer;
    if (r.ends) d.join(r.ends);
    return d;
  }

  /** Sealed with its system: the enclave lets go of the socket without closing it (the layer keeps it). */
  abandon(): void {
    this.closed = true;
  }

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.net.call({ op: 'close', id: this.id });
    } catch {
      // The layer may already be gone (enclave stopping); it closes what is left.
    }
  }
}

/** `bufs` without their first `n` bytes. */
function trimmed(bufs: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of bufs) {
    if (n >= b.byteLength) { n -= b.byteLength; continue; }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

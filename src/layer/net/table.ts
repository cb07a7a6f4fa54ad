// The socket table of the layer (FIG. 48): one entry per socket, created by
// a guest or accepted, with its never-reused ID, the local and remote socket
// structures, status, options, send/receive/connection queues. Every
// operation on an entry goes through apply() or tryApply(), which follow
// status.ts's rules, publish the new state to the owner and tell the tracer
// of each change of the status users see.

import { Errno, SysError } from '../../core/errno.js';
import { Ring } from '../ring.js';
import { formatAddr, type Family, type SockAddr } from '../../core/net/address.js';
import { errnoName } from '../../core/errno.js';
import { ControlBlock } from './control-block.js';
import type { Inbox } from './inbox.js';
import { defaultOptions, type SocketOptions } from './options.js';
import type { SockType } from './protocol.js';
import { displayStatus, INITIAL_WORD, stateOf, statusName, tryApply, SocketState, type SocketOp, type SocketStatus, type SocketWord } from './status.js';
import type { Proto } from './vnet.js';

export interface Owner {
  /** The enclave (guest name) that holds the socket. */
  enclave: string;
  /** Its descriptor number there; -1 while a connection waits to be accepted. */
  fd: number;
}

/** LOCAL SOCKET STRUCTURE (4812). */
export interface LocalStructure {
  id: number;
  type: SockType;
  protocol: Proto;
  family: Family;
  options: SocketOptions;
  local: SockAddr | undefined;
  peer: SockAddr | undefined;
  /** Readiness and errors, shared with the owner. */
  event: ControlBlock;
  blocking: boolean;
  owner: Owner;
}

/** REMOTE SOCKET STRUCTURE (4816). */
export type RemoteStructure =
  | { kind: 'none' }
  | { kind: 'entry'; id: number }
  | { kind: 'host'; address: string };

export interface SocketEntry {
  /** ENTRY (4804): unique, never reused within the layer. */
  readonly id: number;
  readonly local: LocalStructure;
  remote: RemoteStructure;
  /** SOCKET STATUS (4820): state and flags as status.ts defines them (displayStatus() gives the status). */
  word: SocketWord;
  /** SEND QUEUE (4828) and RECEIVE QUEUE (4832). */
  sendQueue: Ring | undefined;
  receiveQueue: Ring | undefined;
  /** A datagram socket's RECEIVE QUEUE: one ring per writer (receiveQueue is the host's). */
  inbox: Inbox | undefined;
  /** CONNECTION QUEUE: entries waiting for accept(), bounded by the backlog. */
  connectionQueue: number[];
  backlog: number;
  /**
   * The guest whose --max-sockets this entry counts against: its owner, but
   * for a connection waiting in a backlog, nobody while the connecting socket
   * stands for it, then the guest that connected (see NetService.closeEntry).
   */
  charged: string | undefined;
  /** A connection waiting to be accepted: the guest that made it (undefined: the host). */
  from: string | undefined;
  /** The virtual-network binding this entry holds, if any. */
  bound: { guest: string; port: number } | undefined;
  /** Release host resources (bridged sockets, host servers). */
  release: (() => void) | undefined;
}

/** A change of an entry's status, or an operation refused (with its errno and what it aimed at). */
export interface TraceEvent {
  entry: SocketEntry;
  from: SocketStatus;
  to: SocketStatus;
  op: SocketOp;
  errno?: number;
  target?: string;
}

export type Tracer = (line: string, event: TraceEvent) => void;

export interface TableRow {
  id: number;
  owner: string;
  family: string;
  type: string;
  protocol: string;
  local: string;
  remote: string;
  status: string;
  sendQueue: number;
  receiveQueue: number;
  connectionQueue: number;
}

export class SocketTable {
  private readonly entries = new Map<number, SocketEntry>();
  private nextId = 1;

  constructor(private readonly tracer?: Tracer) {}

  get size(): number {
    return this.entries.size;
  }

  create(type: SockType, family: Family, owner: Owner): SocketEntry {
    const id = this.nextId++;
    const entry: SocketEntry = {
      id,
      local: {
        id, type, protocol: type === 'stream' ? 'tcp' : 'udp', family, options: defaultOptions(),
        local: undefined, peer: undefined, event: new ControlBlock(), blocking: true, owner,
      },
      remote: { kind: 'none' },
      word: INITIAL_WORD,
      sendQueue: undefined,
      receiveQueue: undefined,
      inbox: undefined,
      connectionQueue: [],
      backlog: 0,
      charged: owner.enclave,
      from: undefined,
      bound: undefined,
      release: undefined,
    };
    entry.local.event.status = entry.word;
    this.entries.set(id, entry);
    return entry;
  }

  /** The id the next entry gets (sealed with a system, so ids stay unique after resume). */
  get nextEntryId(): number {
    return this.nextId;
  }

  /** Puts an entry of a sealed system back, under its own id. */
  restore(entry: SocketEntry, nextId: number): void {
    entry.local.event.status = entry.word;
    this.entries.set(entry.id, entry);
    this.nextId = Math.max(this.nextId, nextId, entry.id + 1);
  }

  get(id: number): SocketEntry {
    const e = this.entries.get(id);
    if (!e) throw new SysError(Errno.BADF, `no socket ${id}`);
    return e;
  }

  find(id: number): SocketEntry | undefined {
    return this.entries.get(id);
  }

  /**
   * Applies `op`, then each of `then` (steps the owner never sees apart,
   * such as a connect that completes at once: one trace line), or throws
   * the errno the rules give, changing nothing.
   */
  apply(entry: SocketEntry, op: SocketOp, ...then: SocketOp[]): void {
    let word = entry.word;
    for (const step of [op, ...then]) {
      const r = tryApply(word, step);
      if (!r.ok) throw new SysError(r.errno, `${step} not allowed while ${statusName(displayStatus(word))}`);
      word = r.word;
    }
    this.store(entry, word, op);
  }

  /**
   * Applies `op` if the rules allow it; false (and nothing changed) if not.
   * `error` is published to the owner before the new state, so that an
   * owner seeing the state also sees why.
   */
  tryApply(entry: SocketEntry, op: SocketOp, error?: number): boolean {
    const r = tryApply(entry.word, op);
    if (!r.ok) return false;
    if (error !== undefined) entry.local.event.error = error;
    this.store(entry, r.word, op, error);
    return true;
  }

  /** Throws the errno the rules give if `op` is not allowed now; changes nothing. */
  check(entry: SocketEntry, op: SocketOp): void {
    const r = tryApply(entry.word, op);
    if (!r.ok) throw new SysError(r.errno, `${op} not allowed while ${statusName(displayStatus(entry.word))}`);
  }

  /** An operation refused for a reason outside the table (nothing listens, a full backlog): traced, nothing changed. */
  refused(entry: SocketEntry, op: SocketOp, errno: number, target: string): void {
    const s = displayStatus(entry.word);
    this.trace({ entry, from: s, to: s, op, errno, target });
  }

  private store(entry: SocketEntry, word: SocketWord, op: SocketOp, errno?: number): void {
    const from = displayStatus(entry.word);
    entry.word = word;
    entry.local.event.status = word;
    const to = displayStatus(word);
    if (from !== to) this.trace({ entry, from, to, op, ...(errno ? { errno } : {}) });
  }

  private trace(event: TraceEvent): void {
    this.tracer?.(this.traceLine(event), event);
  }

  /** `client:3`, or `server:-` for a connection waiting to be accepted. */
  private ownerName(e: SocketEntry): string {
    return `${e.local.owner.enclave}:${e.local.owner.fd >= 0 ? e.local.owner.fd : '-'}`;
  }

  /** The other end: the peer entry's owner, the host, or the target of a refused operation. */
  private peerName(e: SocketEntry, target?: string): string {
    if (target !== undefined) return target;
    const at = formatAddr(e.local.peer);
    if (e.remote.kind === 'host') return `host ${at}`;
    if (e.remote.kind === 'none') return at;
    const peer = this.entries.get(e.remote.id);
    return peer ? `${this.ownerName(peer)} ${at}` : `${at} (closed)`;
  }

  /** One --trace-sockets line: both ends named, the statuses users see, and why. */
  traceLine(ev: TraceEvent): string {
    const e = ev.entry;
    const ends = `socket ${e.id} ${this.ownerName(e)} ${e.local.protocol} ${formatAddr(e.local.local)} -> ${this.peerName(e, ev.target)}`;
    const why = ev.errno ? `${ev.op}: E${errnoName(ev.errno)}` : ev.op;
    return ev.from === ev.to ? `${ends}: ${statusName(ev.from)} (${why})` : `${ends}: ${statusName(ev.from)} -> ${statusName(ev.to)} (${why})`;
  }

  /** Removes a TERMINATED entry. */
  remove(entry: SocketEntry): void {
    this.entries.delete(entry.id);
  }

  all(): SocketEntry[] {
    return [...this.entries.values()];
  }

  ownedBy(enclave: string): SocketEntry[] {
    return this.all().filter((e) => e.local.owner.enclave === enclave);
  }

  /** Entries that count against `enclave`'s --max-sockets. */
  chargedTo(enclave: string): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.charged === enclave) n++;
    return n;
  }

  /**
   * The FIG. 48 status as observed now: a connected stream shows SENDING
   * while bytes sit in its send queue, and RECEIVING while the owner waits
   * on an empty receive queue (the enclave moves data without telling the
   * table).
   */
  observedStatus(e: SocketEntry): SocketStatus {
    if (stateOf(e.word) !== SocketState.CONNECTED || e.local.type !== 'stream') return displayStatus(e.word);
    return displayStatus(e.word, {
      sending: (e.sendQueue?.used ?? 0) > 0,
      receiving: !!e.receiveQueue && e.receiveQueue.used === 0 && e.receiveQueue.readerWaiting,
    });
  }

  rows(): TableRow[] {
    return this.all().map((e) => ({
      id: e.id,
      owner: this.ownerName(e),
      family: e.local.family === 4 ? 'inet' : 'inet6',
      type: e.local.type,
      protocol: e.local.protocol,
      local: formatAddr(e.local.local),
      remote: e.remote.kind === 'host' ? `${formatAddr(e.local.peer)} (host)` : formatAddr(e.local.peer),
      status: statusName(this.observedStatus(e)),
      sendQueue: e.sendQueue?.used ?? 0,
      receiveQueue: e.inbox?.used ?? e.receiveQueue?.used ?? 0,
      connectionQueue: e.connectionQueue.length,
    }));
  }
}

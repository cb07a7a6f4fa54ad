// The socket table of the layer (FIG. 48): one entry per socket, created by
// a guest or accepted, with its never-reused ID, the local and remote socket
// structures, status, options, send/receive/connection queues. Status
// changes go through setStatus(), which applies status.ts's rules and tells
// the tracer.

import { Errno, SysError } from '../../core/errno.js';
import { Ring } from '../ring.js';
import { formatAddr, type Family, type SockAddr } from '../../core/net/address.js';
import { ControlBlock } from './control-block.js';
import type { Inbox } from './inbox.js';
import { defaultOptions, type SocketOptions } from './options.js';
import type { SockType } from './protocol.js';
import { SocketStatus, statusName, transition, type SocketOp } from './status.js';
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
  /** SOCKET STATUS (4820), as last set by a control operation. */
  status: SocketStatus;
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

export type Tracer = (entry: SocketEntry, from: SocketStatus, to: SocketStatus, op: SocketOp) => void;

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
      status: SocketStatus.UNCONNECTED,
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
    entry.local.event.status = entry.status;
    this.entries.set(id, entry);
    return entry;
  }

  get(id: number): SocketEntry {
    const e = this.entries.get(id);
    if (!e) throw new SysError(Errno.BADF, `no socket ${id}`);
    return e;
  }

  find(id: number): SocketEntry | undefined {
    return this.entries.get(id);
  }

  /** Applies `op` to the entry's status, or throws the errno the rules give. */
  apply(entry: SocketEntry, op: SocketOp): void {
    const t = transition(entry.status, op);
    if (!t.ok) throw new SysError(t.errno, `${op} not allowed while ${statusName(entry.status)}`);
    this.setStatus(entry, t.to, op);
  }

  private setStatus(entry: SocketEntry, to: SocketStatus, op: SocketOp): void {
    const from = entry.status;
    entry.status = to;
    entry.local.event.status = to;
    if (from !== to || op === 'close') this.tracer?.(entry, from, to, op);
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
   * The status as observed now: CONNECTED is shown as SENDING while bytes sit
   * in the send queue, and RECEIVING while the owner waits on an empty
   * receive queue (the enclave moves data without telling the table).
   */
  observedStatus(e: SocketEntry): SocketStatus {
    if (e.status !== SocketStatus.CONNECTED || e.local.type !== 'stream') return e.status;
    if (e.sendQueue && e.sendQueue.used > 0) return SocketStatus.SENDING;
    if (e.receiveQueue && e.receiveQueue.used === 0 && e.receiveQueue.readerWaiting) return SocketStatus.RECEIVING;
    return e.status;
  }

  rows(): TableRow[] {
    return this.all().map((e) => ({
      id: e.id,
      owner: e.local.owner.fd >= 0 ? `${e.local.owner.enclave}:${e.local.owner.fd}` : `${e.local.owner.enclave}:-`,
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

// The virtual network as it travels in a sealed system snapshot: every
// socket-table entry (FIG. 48) with its status, options, local and remote
// structures and who holds it, the bytes waiting in every queue (a
// guest-to-guest stream's two rings, each datagram inbox ring, the host's
// queues), connections waiting in listening backlogs, and the address and
// port bindings. Plain JSON: it is sealed with the guests (snapshot/), never
// written in the clear. Taken while every guest is stopped, so no queue moves
// under it; put back into a fresh NetService before any guest runs again.

import type { Family, SockAddr } from '../../core/net/address.js';
import type { SocketOptions } from './options.js';
import type { SockType } from './protocol.js';
import type { Owner, RemoteStructure } from './table.js';
import type { SocketWord } from './status.js';
import type { SealedBinding } from './vnet.js';

/** A socket descriptor as the guest held it (the entry it names travels in SealedNetwork). */
export interface SealedSocket {
  fd: number;
  id: number;
  family: Family;
  type: SockType;
  fdflags: number;
  options: SocketOptions;
  local?: SockAddr;
  peer?: SockAddr;
}

/** A queue: its size, flags, and the bytes written and not yet read (base64), oldest first. */
export interface SealedRing {
  id: number;
  capacity: number;
  flags: number;
  data: string;
}

export interface SealedEntry {
  id: number;
  type: SockType;
  family: Family;
  options: SocketOptions;
  local?: SockAddr;
  peer?: SockAddr;
  blocking: boolean;
  owner: Owner;
  remote: RemoteStructure;
  word: SocketWord;
  /** Ids of the entry's rings (a stream's send queue is its peer's receive queue: one ring, two entries). */
  sendQueue?: number;
  receiveQueue?: number;
  /** A datagram socket's inbox: a ring per writer (null: the host). */
  inbox?: { writer: string | null; ring: number }[];
  connectionQueue: number[];
  backlog: number;
  charged?: string;
  from?: string;
  bound?: { guest: string; port: number };
  /** The error the owner has not read yet (SO_ERROR). */
  error: number;
}

export interface SealedNetwork {
  /** The table's next entry id: ids are never reused, across a suspension too. */
  nextId: number;
  entries: SealedEntry[];
  rings: SealedRing[];
  bindings: SealedBinding[];
  ephemeral: [string, number][];
}

// Requests an enclave makes to the layer's network, and what comes back.
// Shared buffers in replies (rings, control blocks) are how the enclave then
// moves data and sees events without further calls.

import type { Family, SockAddr } from '../../core/net/address.js';

export type SockType = 'stream' | 'dgram';

/** A connected stream's two queues as the enclave sees them. */
export interface StreamEnds {
  /** Bytes arriving for this socket (its RECEIVE QUEUE). */
  rx: SharedArrayBuffer;
  /** Bytes this socket sends (its SEND QUEUE, the peer's receive queue when the peer is a guest). */
  tx: SharedArrayBuffer;
  /** The peer enclave's control words, to wake its polls; absent when the peer is the host. */
  peerControl?: SharedArrayBuffer;
  /** A bridged stream: the host socket's descriptor, lent for direct writes (see host-fd.ts). */
  hostFd?: SharedArrayBuffer;
}

export type NetRequest =
  | { op: 'open'; fd: number; family: Family; type: SockType }
  | { op: 'bind'; id: number; addr: SockAddr }
  | { op: 'listen'; id: number; backlog: number }
  | { op: 'connect'; id: number; addr: SockAddr }
  | { op: 'accept'; id: number; fd: number }
  | { op: 'shutdown'; id: number; read: boolean; write: boolean }
  | { op: 'close'; id: number }
  | { op: 'route'; id: number; addr: SockAddr }
  /** A datagram socket's receive rings (after its inbox counter moved). */
  | { op: 'inbox'; id: number }
  | { op: 'setopt'; id: number; option: string; value: number | boolean | null }
  | { op: 'resolve'; name: string; port: number }
  /** A resumed guest takes back a socket it held when its system was sealed. */
  | { op: 'reattach'; id: number };

export interface ReattachReply {
  block: SharedArrayBuffer;
  ends?: StreamEnds;
}

export interface OpenReply {
  id: number;
  block: SharedArrayBuffer;
}

export interface ConnectReply {
  local: SockAddr;
  peer: SockAddr;
  /** Streams: the queues (set up at once, even while the connection is still being made). */
  ends?: StreamEnds;
  /** True while a host connection is still being made; the control block tells when it is done. */
  pending: boolean;
}

export interface AcceptReply {
  id: number;
  block: SharedArrayBuffer;
  ends: StreamEnds;
  local: SockAddr;
  peer: SockAddr;
}

/** Where a datagram to some address goes: another socket's receive queue, or the host's. */
export type RouteReply =
  | { kind: 'queue'; queue: SharedArrayBuffer; peerControl?: SharedArrayBuffer; local: SockAddr;
      /**
       * The address each record carries: in another guest's queue the sender
       * (never a wildcard); in the host's outbound queue the destination the
       * layer decided on (the host's own form of it, e.g. its loopback for the gateway).
       */
      stamp: SockAddr }
  | { kind: 'drop'; local: SockAddr };

/** How an enclave reaches the layer's network: one blocking call per request. */
export interface NetCalls {
  call<R>(request: NetRequest): R;
}

/** The enclave's event epoch, for waits on what only the layer changes (connects, accepts). */
export interface EnclaveEvents {
  epoch(): number;
  /** Sleeps until the epoch moves past `seen` or `timeoutMs` passes. */
  wait(seen: number, timeoutMs: number): void;
}

/** Bytes moved per peer, for the usage report. */
export interface NetUsage {
  peers: Map<string, { sent: number; received: number }>;
  socketsOpened: number;
}

/** What every socket of one enclave shares. */
export interface SocketContext {
  net: NetCalls;
  events: EnclaveEvents;
  usage: NetUsage;
}

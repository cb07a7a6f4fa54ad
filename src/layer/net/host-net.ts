// What the layer needs from the host's network (implemented in
// src/host/net.ts with node:net, node:dgram and node:dns). The layer decides
// whether a call is allowed; this only carries it out. Bytes move between a
// host socket and the same rings the guest uses, so a bridged socket looks
// like any other entry of the socket table.

import type { Ring } from '../ring.js';
import type { Family, SockAddr } from '../../core/net/address.js';

export interface StreamEvents {
  /** The connection is up (for connect). */
  connected(local: SockAddr, peer: SockAddr): void;
  /** It could not be made, or broke: an errno. */
  failed(errno: number): void;
  /** The host side is gone (after end of data or an error). */
  closed(): void;
}

export interface Bridged {
  /** Ends the host socket: after the send queue drains, or at once if `abort`. */
  release(abort: boolean): void;
  /** The host socket's descriptor as lent to the owning enclave for direct writes (see host-fd.ts). */
  readonly hostFd: SharedArrayBuffer;
  /** The owning enclave's thread is gone: it holds the descriptor no longer. */
  ownerGone(): void;
}

/** A connection that arrived at a host listener, not yet joined to rings. */
export interface IncomingConnection {
  local: SockAddr;
  peer: SockAddr;
  attach(rx: Ring, tx: Ring, events: StreamEvents): Bridged;
  /** Refuses it (resets the host connection). */
  reject(): void;
}

export interface HostServer {
  local: SockAddr;
  /** Stops listening; resolves once the port is free again. */
  close(): Promise<void>;
}

export interface HostDatagramSocket {
  local: SockAddr;
  /** Sends every datagram the guest puts in `outbound` (records as in datagram.ts). */
  drain(outbound: Ring): void;
  close(): void;
}

export interface HostNet {
  connect(addr: SockAddr, rx: Ring, tx: Ring, events: StreamEvents): Bridged;
  listen(addr: SockAddr, backlog: number, onConnection: (c: IncomingConnection) => void): Promise<HostServer>;
  /**
   * A host UDP socket; what arrives for it is appended to `inbound`, from the
   * address `sender` gives for the host's (the one the guest sent to), then `onReceive` runs.
   */
  datagram(family: Family, local: SockAddr | undefined, inbound: Ring, onReceive: () => void,
    sender?: (from: SockAddr) => SockAddr): Promise<HostDatagramSocket>;
  lookup(name: string): Promise<SockAddr[]>;
}

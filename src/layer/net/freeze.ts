// Sealing the virtual network of a stopped system, and putting it back
// (sealed.ts says what travels). A queue is carried as its unread bytes in
// order, so nothing is lost, duplicated or reordered; a stream's ring shared
// by its two ends is carried once and shared again. What cannot travel is
// the host's side of a bridged socket: such an entry comes back reset
// (ECONNRESET), and a host connection still waiting in a backlog is dropped.

import { Errno } from '../../core/errno.js';
import { Ring, RingFlag } from '../ring.js';
import { ControlBlock } from './control-block.js';
import type { Inbox } from './inbox.js';
import type { SealedEntry, SealedNetwork, SealedRing } from './sealed.js';
import { SocketState, stateOf, tryApply } from './status.js';
import type { SocketEntry, SocketTable } from './table.js';
import type { VirtualNetwork } from './vnet.js';

function ringBytes(ring: Ring): Buffer {
  const data = Buffer.alloc(ring.used);
  ring.peek(data);
  return data;
}

/** The network's record; every guest must be stopped (no queue moves meanwhile). */
export function sealNetwork(table: SocketTable, vnet: VirtualNetwork): SealedNetwork {
  const ids = new Map<Ring, number>();
  const rings: SealedRing[] = [];
  const ringId = (ring: Ring | undefined): number | undefined => {
    if (ring === undefined) return undefined;
    let id = ids.get(ring);
    if (id === undefined) {
      id = rings.length + 1;
      ids.set(ring, id);
      const data = ringBytes(ring);
      rings.push({ id, capacity: ring.capacity, flags: Atomics.load(ring.header, 2), data: data.toString('base64') });
      data.fill(0);
    }
    return id;
  };
  const entries = table.all().map((e): SealedEntry => {
    const send = ringId(e.sendQueue);
    const receive = ringId(e.receiveQueue);
    return {
      id: e.id, type: e.local.type, family: e.local.family, options: { ...e.local.options },
      ...(e.local.local ? { local: e.local.local } : {}), ...(e.local.peer ? { peer: e.local.peer } : {}),
      blocking: e.local.blocking, owner: { ...e.local.owner }, remote: e.remote, word: e.word,
      ...(send !== undefined ? { sendQueue: send } : {}), ...(receive !== undefined ? { receiveQueue: receive } : {}),
      ...(e.inbox ? { inbox: e.inbox.sealedRings().map((r) => ({ writer: r.writer ?? null, ring: ringId(r.ring)! })) } : {}),
      connectionQueue: [...e.connectionQueue], backlog: e.backlog,
      ...(e.charged !== undefined ? { charged: e.charged } : {}), ...(e.from !== undefined ? { from: e.from } : {}),
      ...(e.bound ? { bound: { ...e.bound } } : {}),
      error: e.local.event.error,
    };
  });
  const { bindings, ephemeral } = vnet.sealedBindings();
  return { nextId: table.nextEntryId, entries, rings, bindings, ephemeral };
}

export interface RestoreHooks {
  /** A datagram socket's inbox, as the service makes one. */
  inbox(e: SocketEntry): Inbox;
  /** Wakes guest `name`'s waits (a queue it reads or writes moved). */
  wake(name: string): () => void;
}

/**
 * Puts a sealed network into an empty table (the guests already on the
 * virtual network, in the sealed order). Bridged entries read as reset.
 */
export function restoreNetwork(sealed: SealedNetwork, table: SocketTable, vnet: VirtualNetwork, hooks: RestoreHooks): void {
  const rings = new Map<number, Ring>();
  for (const r of sealed.rings) {
    const ring = Ring.create(r.capacity);
    const data = Buffer.from(r.data, 'base64');
    if (data.length > r.capacity) throw new Error(`queue ${r.id} holds more than its size`);
    ring.tryWrite(data);
    data.fill(0);
    if (r.flags !== 0) Atomics.or(ring.header, 2, r.flags);
    rings.set(r.id, ring);
  }
  const ring = (id: number | undefined): Ring | undefined => {
    if (id === undefined) return undefined;
    const r = rings.get(id);
    if (r === undefined) throw new Error(`an entry names queue ${id}, which is not sealed`);
    return r;
  };
  const hostPending = new Set(sealed.entries.filter((s) => s.remote.kind === 'host' && s.owner.fd === -1).map((s) => s.id));
  for (const s of sealed.entries) {
    if (hostPending.has(s.id)) continue;
    const event = new ControlBlock();
    const e: SocketEntry = {
      id: s.id,
      local: {
        id: s.id, type: s.type, protocol: s.type === 'stream' ? 'tcp' : 'udp', family: s.family, options: { ...s.options },
        local: s.local, peer: s.peer, event, blocking: s.blocking, owner: { ...s.owner },
      },
      remote: s.remote, word: s.word,
      sendQueue: ring(s.sendQueue), receiveQueue: ring(s.receiveQueue), inbox: undefined,
      // A host connection waiting to be accepted cannot travel: it is gone from the backlog.
      connectionQueue: s.connectionQueue.filter((id) => !hostPending.has(id)), backlog: s.backlog,
      charged: s.charged, from: s.from, bound: s.bound, release: undefined,
    };
    event.error = s.error;
    event.pending = e.connectionQueue.length;
    if (s.inbox) {
      e.inbox = hooks.inbox(e);
      for (const r of s.inbox) e.inbox.adopt(r.writer ?? undefined, ring(r.ring)!);
    }
    const owner = hooks.wake(s.owner.enclave);
    if (e.receiveQueue) e.receiveQueue.onReaderWaiting = owner;
    if (e.sendQueue) e.sendQueue.onWriterWaiting = owner;
    if (e.remote.kind === 'host' && e.local.type === 'stream') bridgedReset(e);
    table.restore(e, sealed.nextId);
  }
  vnet.restoreBindings(sealed.bindings, sealed.ephemeral);
}

/**
 * The host's end of a bridged stream did not travel: the connection reads
 * as reset; a connect still in progress has failed with ECONNRESET (what a
 * non-blocking connect's SO_ERROR says; a blocked connect call is made again).
 */
function bridgedReset(e: SocketEntry): void {
  e.sendQueue?.setFlag(RingFlag.RESET);
  e.receiveQueue?.setFlag(RingFlag.RESET | RingFlag.READER_CLOSED);
  const state = stateOf(e.word);
  const op = state === SocketState.CONNECTING ? 'connect-failed' : 'reset';
  const r = tryApply(e.word, op);
  if (r.ok) e.word = r.word;
  e.local.event.error = Errno.CONNRESET;
}

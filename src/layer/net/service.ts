// The layer's network: answers every socket call the enclaves make, keeps the
// socket table, routes guest-to-guest traffic inside the process (by handing
// both ends the same shared queues) and bridges to the host where the policy
// allows. In normal mode every socket is a host socket and nothing is checked.

import { Errno, SysError } from '../../core/errno.js';
import { decideConnect, decideResolve, hostLoopbackGrant, type NetworkPolicy, type PublishRule } from '../../policy/network.js';
import { Ring, RingFlag } from '../ring.js';
import { canonicalIp, checkFamily, formatAddr, HOST_GATEWAY, isLoopback, isUnspecified, unspecified, type Family, type SockAddr } from '../../core/net/address.js';
import type { Bridged, HostDatagramSocket, HostNet, HostServer, IncomingConnection } from './host-net.js';
import { Inbox } from './inbox.js';
import { queueBytes, type SocketOptions } from './options.js';
import { RingPool } from './ring-pool.js';
import type { AcceptReply, ConnectReply, NetRequest, OpenReply, RouteReply } from './protocol.js';
import { SocketState, stateOf } from './status.js';
import { SocketTable, type SocketEntry, type Tracer } from './table.js';
import { VirtualNetwork } from './vnet.js';
import { restoreNetwork, sealNetwork } from './freeze.js';
import type { SealedNetwork } from './sealed.js';
import type { StreamEnds } from './protocol.js';

/** Longest a resumed guest's first socket call waits for the other guests of its system to join. */
const REJOIN_MS = 30_000;

const MAX_HOST_PEERS = 256;

const peerKey = (a: SockAddr): string => `${canonicalIp(a.ip)?.ip ?? a.ip}|${a.port}`;
const MAX_BACKLOG = 4096;
/** Longest a connection that arrived while a published port was being checked waits for the guest to listen. */
const HELD_MS = 10_000;

/** A network decision, as the audit log records it. */
export interface NetDecision {
  enclave: string;
  op: 'connect' | 'resolve' | 'publish' | 'listen' | 'accept' | 'send' | 'sock_open';
  target: string;
  decision: 'allow' | 'deny' | 'limit';
  reason: string;
  errno?: string;
}

export interface NetServiceOptions {
  mode: 'secure' | 'normal';
  policy: NetworkPolicy;
  /** The host's network, or how to load it (on first use: most guests never touch it). */
  host: HostNet | (() => Promise<HostNet>);
  tracer?: Tracer;
  /** Upper bound on each queue's bytes. */
  maxQueueBytes?: number;
  /** Sockets one enclave may hold at once (ENFILE past it). */
  maxSockets?: number;
  /** Told of every network decision (denials, and grants used). */
  onDecision?: (d: NetDecision) => void;
  /** May guest `from` reach guest `to` on the virtual network? Default: yes. */
  canReach?: (from: string, to: string) => boolean;
}

interface EnclaveNet {
  control: SharedArrayBuffer;
  wake: () => void;
}

interface EntryExtras {
  hostDatagram?: Promise<HostDatagramSocket>;
  /** Host address a datagram went to -> the address the guest wrote, so replies come from where it sent. */
  hostPeers?: Map<string, SockAddr>;
  bridged?: Bridged;
  hostServer?: HostServer;
}

export class NetService {
  readonly table: SocketTable;
  readonly vnet = new VirtualNetwork();
  private readonly enclaves = new Map<string, EnclaveNet>();
  /** IP -> names the layer resolved to it: what a name grant allows. */
  private readonly pinned = new Map<string, Set<string>>();
  private readonly extras = new Map<number, EntryExtras>();
  /** Host listeners of --publish: open only while the guest listens on the port (see publish()). */
  private readonly publishServers = new Map<PublishRule, Promise<HostServer | undefined>>();
  /** Host listeners of --publish being closed: the port is free again once these settle. */
  private readonly publishClosing = new Map<PublishRule, Promise<void>>();
  private readonly held = new Map<PublishRule, { conn: IncomingConnection; timer: NodeJS.Timeout }[]>();
  /** Queues of closed guest-to-guest streams, for the next connections. */
  private readonly rings = new RingPool();

  private hostNet: Promise<HostNet> | undefined;
  /** Guests being sealed with their system: their sockets outlive their enclave (detach keeps them). */
  private readonly kept = new Set<string>();
  /** A resumed system: the guests that hold sockets, and who waits until each has joined. */
  private rejoining: { missing: Set<string>; joined: Promise<void>; done: () => void } | undefined;

  constructor(private readonly o: NetServiceOptions) {
    this.table = new SocketTable(o.tracer);
  }

  private host(): Promise<HostNet> {
    const h = this.o.host;
    return (this.hostNet ??= typeof h === 'function' ? h() : Promise.resolve(h));
  }

  /** Registers a guest: it gets its name and addresses on the virtual network. */
  attach(name: string, control: SharedArrayBuffer): void {
    const words = new Int32Array(control);
    this.enclaves.set(name, {
      control,
      // Control word 0 is the enclave's event epoch (see enclave/protocol.ts).
      wake: () => { Atomics.add(words, 0, 1); Atomics.notify(words, 0); },
    });
    if (!this.vnet.host(name)) this.vnet.addGuest(name);
    const r = this.rejoining;
    if (r && r.missing.delete(name) && r.missing.size === 0) r.done();
  }

  /**
   * Guest `name` is being sealed with its system (on: true) or was not (on:
   * false): while kept, its end leaves its sockets as they are, to be sealed.
   */
  keep(name: string, on: boolean): void {
    if (on) {
      this.kept.add(name);
      return;
    }
    this.kept.delete(name);
    // It ended meanwhile: what it held closes now, as its end would have done.
    if (!this.enclaves.has(name)) for (const e of this.table.ownedBy(name)) this.closeEntry(e);
  }

  /** Wakes guest `name` wherever it sleeps on one of its socket queues (a suspension asks it to stop). */
  wakeQueues(name: string): void {
    for (const e of this.table.ownedBy(name)) {
      e.receiveQueue?.wakeAll();
      e.sendQueue?.wakeAll();
    }
  }

  /** The network policy every guest on this layer is under. */
  get policy(): NetworkPolicy {
    return this.o.policy;
  }

  /** Whether guest `name` holds a socket (or a connection waits for it in a backlog). */
  holdsSockets(name: string): boolean {
    return this.table.ownedBy(name).length > 0;
  }

  /**
   * The network's record for guest `name` sealed alone (stopped): why not, if
   * another guest on the layer holds a socket too (their connections travel
   * only with both, in a system's snapshot).
   */
  sealAlone(name: string): SealedNetwork | { refused: string } {
    const other = this.table.all().find((e) => e.local.owner.enclave !== name);
    if (other) return { refused: `guest ${other.local.owner.enclave} holds a socket on its layer too: a layer's guests are sealed together, as a system` };
    return sealNetwork(this.table, this.vnet);
  }

  /** The network's sealed record (every guest stopped). */
  seal(): SealedNetwork {
    return sealNetwork(this.table, this.vnet);
  }

  /**
   * Puts a sealed network back, before any guest joins: connections between
   * guests as they were, bridged ones reset; published ports listen again
   * where their guest listens.
   */
  async restore(sealed: SealedNetwork): Promise<void> {
    restoreNetwork(sealed, this.table, this.vnet, {
      inbox: (e) => new Inbox(e.local.event, (writer) => this.queue(this.datagramBytes(e.local.options.recvBufferSize), e.local.owner.enclave, writer),
        () => this.wake(e.local.owner.enclave)),
      wake: (name) => () => this.wake(name),
    });
    const missing = new Set(this.table.all().map((e) => e.local.owner.enclave).filter((n) => !this.enclaves.has(n)));
    let done = (): void => {};
    const joined = new Promise<void>((resolve) => { done = resolve; });
    this.rejoining = { missing, joined, done };
    if (missing.size === 0) done();
    if (this.o.mode === 'secure') for (const g of this.vnet.guests()) await this.publish(g.name);
  }

  /**
   * A resumed guest takes its socket `id` back: its control block and
   * queues. Answered once every guest of the system has joined, so that
   * each end knows the other's wake-up word.
   */
  private async reattach(e: SocketEntry): Promise<{ block: SharedArrayBuffer; ends?: StreamEnds }> {
    const r = this.rejoining;
    if (r && r.missing.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([r.joined, new Promise<void>((resolve) => { timer = setTimeout(resolve, REJOIN_MS); })]);
      clearTimeout(timer);
    }
    const peer = e.remote.kind === 'entry' ? this.table.find(e.remote.id) : undefined;
    const peerControl = peer ? this.controlOf(peer.local.owner.enclave) : undefined;
    return {
      block: e.local.event.sab,
      ...(e.receiveQueue && e.sendQueue ? { ends: { rx: e.receiveQueue.sab, tx: e.sendQueue.sab, ...(peerControl ? { peerControl } : {}) } } : {}),
    };
  }

  /** The guest is gone: its sockets close as a process's do when it exits, and its datagrams in flight end. */
  detach(name: string): void {
    // Its thread is gone: a host descriptor it had taken for a write is free to close.
    for (const e of this.table.ownedBy(name)) this.extras.get(e.id)?.bridged?.ownerGone();
    if (this.kept.has(name)) {
      // Sealed with its system: its sockets stay as they are until the network is sealed.
      this.enclaves.delete(name);
      return;
    }
    for (const e of this.table.ownedBy(name)) this.closeEntry(e);
    for (const e of this.table.all()) {
      e.inbox?.writerGone(name);
      // Connections it left waiting count against nobody now: a guest joining under its name starts afresh.
      if (e.charged === name) e.charged = undefined;
    }
    this.enclaves.delete(name);
  }

  /**
   * Checks that every --publish host port can be listened on (it fails, and
   * Capsule exits 69, if one is in use), then lets it go: the host port
   * listens only while the guest does, so until then a host client is
   * refused, never accepted and reset. A client that slips in while the
   * check listens is held until the guest listens (see hold()).
   */
  async start(): Promise<void> {
    if (this.o.mode !== 'secure') return;
    for (const rule of this.o.policy.publish) {
      const server = await (await this.host()).listen(this.publishAddress(rule), 1, (conn) => this.hold(rule, conn));
      // The port is free again at once; the promise waits for held connections, which nothing needs to.
      void server.close();
    }
  }

  /**
   * A connection that reached a published port before the guest listened:
   * kept (at most MAX_BACKLOG per port, for at most HELD_MS) and handed to
   * the guest's listener once it listens, instead of being reset.
   */
  private hold(rule: PublishRule, conn: IncomingConnection): void {
    const held = this.held.get(rule) ?? [];
    if (held.length >= MAX_BACKLOG) { conn.reject(); return; }
    const entry = { conn, timer: setTimeout(() => {
      held.splice(held.indexOf(entry), 1);
      conn.reject();
    }, HELD_MS) };
    entry.timer.unref();
    held.push(entry);
    this.held.set(rule, held);
  }

  /** The guest listens: connections held for its published port go to it. */
  private releaseHeld(rule: PublishRule): void {
    const held = this.held.get(rule) ?? [];
    this.held.delete(rule);
    for (const { conn, timer } of held) {
      clearTimeout(timer);
      this.published(rule, conn);
    }
  }

  /** Closes everything: publish listeners and every socket. */
  stop(): void {
    this.rings.close();
    for (const held of this.held.values()) for (const { conn, timer } of held) { clearTimeout(timer); conn.reject(); }
    this.held.clear();
    for (const rule of [...this.publishServers.keys()]) this.unpublish(rule);
    for (const e of this.table.all()) this.closeEntry(e);
  }

  private publishAddress(rule: PublishRule): SockAddr {
    return { family: canonicalIp(rule.hostAddress)!.family, ip: rule.hostAddress, port: rule.hostPort };
  }

  /** The guest a rule publishes (the only or first guest unless it names one) and its listener on the guest port, if any. */
  private publishedListener(rule: PublishRule): { guest: string; listener: SocketEntry | undefined } | undefined {
    const host = this.vnet.host(rule.guest ?? this.vnet.guests()[0]?.name ?? '');
    if (!host) return undefined;
    const id = this.vnet.find(host.name, 'tcp', 4, host.v4, rule.guestPort, (i) => isListening(this.table.find(i)));
    return { guest: host.name, listener: id === undefined ? undefined : this.table.get(id) };
  }

  /** The guest now listens where rules publish: their host ports start listening (the guest's listen returns after). */
  private async publish(enclave: string): Promise<void> {
    for (const rule of this.o.policy.publish) {
      const p = this.publishedListener(rule);
      if (p?.guest !== enclave || !p.listener || this.publishServers.has(rule)) continue;
      const at = `${formatAddr(this.publishAddress(rule))} -> ${rule.guestPort}`;
      const opened = (async () => {
        await this.publishClosing.get(rule);
        try {
          const server = await (await this.host()).listen(this.publishAddress(rule), MAX_BACKLOG, (conn) => this.published(rule, conn));
          this.o.onDecision?.({ enclave, op: 'publish', target: at, decision: 'allow', reason: `the guest listens: published by --publish ${rule.text}` });
          this.releaseHeld(rule);
          return server;
        } catch (err) {
          // Taken since start: the guest still listens on its own network.
          this.o.onDecision?.({ enclave, op: 'publish', target: at, decision: 'deny', reason: `the host port cannot listen: ${(err as Error).message}` });
          return undefined;
        }
      })();
      this.publishServers.set(rule, opened);
      await opened;
    }
  }

  /** The guest no longer listens where a rule publishes: its host port refuses again. */
  private unpublishIdle(): void {
    for (const rule of [...this.publishServers.keys()]) if (!this.publishedListener(rule)?.listener) this.unpublish(rule);
  }

  private unpublish(rule: PublishRule): void {
    const opened = this.publishServers.get(rule);
    if (!opened) return;
    this.publishServers.delete(rule);
    const closing = opened.then((s) => s?.close()).finally(() => {
      if (this.publishClosing.get(rule) === closing) this.publishClosing.delete(rule);
    });
    this.publishClosing.set(rule, closing);
  }

  /** Records a decision; a refusal becomes EACCES for the guest. */
  private decide(enclave: string, op: NetDecision['op'], target: string, allowed: boolean, reason: string): void {
    this.o.onDecision?.({ enclave, op, target, decision: allowed ? 'allow' : 'deny', reason, ...(allowed ? {} : { errno: 'ACCES' }) });
    if (!allowed) throw new SysError(Errno.ACCES, reason);
  }

  private wake(enclave: string): void {
    this.enclaves.get(enclave)?.wake();
  }

  private controlOf(enclave: string): SharedArrayBuffer | undefined {
    return this.enclaves.get(enclave)?.control;
  }

  /** The entry `id`, which must belong to `enclave`: a guest can touch only its own sockets. */
  private own(enclave: string, id: number): SocketEntry {
    const e = this.table.find(id);
    if (!e || e.local.owner.enclave !== enclave) throw new SysError(Errno.BADF);
    return e;
  }

  /**
   * A queue whose reader is in `reader` and writer in `writer` (undefined:
   * the host). Only guest-to-guest streams (`pooled`) reuse closed rings: the
   * host's pumps and datagram senders may hold theirs a while after a close.
   */
  private queue(bytes: number, reader: string | undefined, writer: string | undefined, pooled = false): Ring {
    const r = pooled ? this.rings.take(bytes) : Ring.create(bytes);
    if (reader) r.onReaderWaiting = () => this.wake(reader);
    if (writer) r.onWriterWaiting = () => this.wake(writer);
    return r;
  }

  private streamBytes(a: SocketOptions, b?: SocketOptions): number {
    return queueBytes(a.sendBufferSize, b?.recvBufferSize ?? a.recvBufferSize, this.o.maxQueueBytes ?? Infinity);
  }

  /**
   * Queues to and from the host are larger: the host writes straight out of
   * the queue, a quarter at a time, while the guest fills the rest.
   */
  private bridgedBytes(a: SocketOptions): number {
    return queueBytes(4 * a.sendBufferSize, 4 * a.recvBufferSize, this.o.maxQueueBytes ?? Infinity);
  }

  /** A datagram queue: one of a socket's inbox rings (its receive buffer) or its send queue to the host. */
  private datagramBytes(bufferSize: number): number {
    return queueBytes(bufferSize, 0, this.o.maxQueueBytes ?? Infinity);
  }

  handle(enclave: string, req: NetRequest): unknown {
    switch (req.op) {
      case 'open': return this.open(enclave, req.fd, req.family, req.type);
      case 'bind': return this.bind(this.own(enclave, req.id), req.addr);
      case 'listen': return this.listen(this.own(enclave, req.id), req.backlog);
      case 'connect': return this.connect(this.own(enclave, req.id), req.addr);
      case 'accept': return this.accept(this.own(enclave, req.id), req.fd);
      case 'shutdown': return this.shutdown(this.own(enclave, req.id), req.read, req.write);
      case 'close': return this.closeEntry(this.own(enclave, req.id));
      case 'route': return this.route(this.own(enclave, req.id), req.addr);
      case 'inbox': return this.own(enclave, req.id).inbox?.list() ?? [];
      case 'setopt': return this.setopt(this.own(enclave, req.id), req.option, req.value);
      case 'resolve': return this.resolve(enclave, req.name, req.port);
      case 'reattach': return this.reattach(this.own(enclave, req.id));
    }
  }

  private open(enclave: string, fd: number, family: 4 | 6, type: 'stream' | 'dgram'): OpenReply {
    if (family !== 4 && family !== 6) throw new SysError(Errno.AFNOSUPPORT);
    this.checkSocketLimit(enclave, 'sock_open', Errno.NFILE);
    const e = this.table.create(type, family, { enclave, fd });
    if (type === 'dgram') {
      e.inbox = new Inbox(e.local.event, (writer) => this.queue(this.datagramBytes(e.local.options.recvBufferSize), enclave, writer),
        () => this.wake(enclave));
    }
    return { id: e.id, block: e.local.event.sab };
  }

  private bindVirtual(e: SocketEntry, addr: SockAddr): SockAddr {
    const enclave = e.local.owner.enclave;
    if (!this.vnet.isOwnAddress(enclave, addr.ip)) throw new SysError(Errno.ADDRNOTAVAIL);
    const local = this.vnet.bind(enclave, e.local.protocol, addr, e.local.options.onlyV6, e.id);
    e.bound = { guest: enclave, port: local.port };
    return local;
  }

  private async bind(e: SocketEntry, addr: SockAddr): Promise<{ local: SockAddr }> {
    this.table.check(e, 'bind');
    checkFamily(addr, e.local.family);
    if (this.o.mode === 'secure') {
      e.local.local = this.bindVirtual(e, addr);
    } else {
      // Host streams bind when they listen or connect; host datagram sockets bind now.
      e.local.local = addr;
      if (e.local.type === 'dgram') await this.hostDatagram(e);
    }
    this.table.apply(e, 'bind');
    return { local: e.local.local! };
  }

  /** Binds an unbound socket to an ephemeral port (as the kernel does before listen, connect, sendto). */
  private autobind(e: SocketEntry, toward?: SockAddr): void {
    if (e.local.local || this.o.mode !== 'secure') return;
    const enclave = e.local.owner.enclave;
    const target = toward ? canonicalIp(toward.ip)?.ip : undefined;
    // Toward its own loopback a guest speaks from loopback, toward others from its own address.
    const ip = target === undefined ? unspecified(e.local.family).ip
      : this.vnet.sourceFor(enclave, e.local.family, isLoopback(target) || target === '0.0.0.0' || target === '::');
    e.local.local = this.bindVirtual(e, { family: e.local.family, ip, port: 0 });
    if (e.local.type === 'dgram') this.table.tryApply(e, 'bind');
  }

  private async listen(e: SocketEntry, backlog: number): Promise<{ local: SockAddr }> {
    if (e.local.type !== 'stream') throw new SysError(Errno.NOTSUP);
    this.table.check(e, 'listen');
    // As Linux: a negative backlog (listen(fd, -1)) or one past the maximum means the maximum; 0 still allows one.
    e.backlog = backlog < 0 ? MAX_BACKLOG : Math.min(Math.max(backlog, 1), MAX_BACKLOG);
    if (this.o.mode === 'secure') {
      if (!e.local.local) e.local.local = this.bindVirtual(e, unspecified(e.local.family));
      this.decide(e.local.owner.enclave, 'listen', `${formatAddr(e.local.local)}`, true,
        'the virtual network (reachable by guests of this layer, and from the host only through --publish)');
      this.table.apply(e, 'listen');
      // A port published for it starts listening on the host now, before the guest's listen returns.
      await this.publish(e.local.owner.enclave);
      return { local: e.local.local };
    }
    if (!this.extras.get(e.id)?.hostServer) {
      const server = await (await this.host()).listen(e.local.local ?? unspecified(e.local.family), e.backlog, (c) => this.incoming(e, c, c.local));
      this.extra(e).hostServer = server;
      e.local.local = server.local;
    }
    this.table.apply(e, 'listen');
    return { local: e.local.local! };
  }

  private extra(e: SocketEntry): EntryExtras {
    let x = this.extras.get(e.id);
    if (!x) this.extras.set(e.id, (x = {}));
    return x;
  }

  private connect(e: SocketEntry, addr: SockAddr): ConnectReply | Promise<ConnectReply> {
    checkFamily(addr, e.local.family);
    if (e.local.type === 'dgram') {
      this.table.check(e, 'connect-datagram');
      // A UDP peer outside gets the same decision now that every send to it gets later.
      if (this.o.mode === 'secure' && this.where(e, addr, 'udp').kind === 'outside') this.outside(e, 'connect', addr, e.local.family);
      this.autobind(e, addr);
      e.local.peer = addr;
      this.table.apply(e, 'connect-datagram');
      return { local: e.local.local ?? unspecified(e.local.family), peer: addr, pending: false };
    }
    this.table.check(e, 'connect');
    const dest = this.where(e, addr, 'tcp');
    if (dest.kind === 'guest') return this.connectGuest(e, dest.guest, addr);
    return this.connectHost(e, addr);
  }

  /**
   * Where a guest's connection or datagram to `addr` goes: another guest (or
   * itself) on the virtual network, or the host. Its own loopback is its own,
   * unless it has nothing there and a grant names that loopback address and
   * port exactly: then it is the host's loopback.
   */
  private where(e: SocketEntry, addr: SockAddr, proto: 'tcp' | 'udp'): { kind: 'guest'; guest: string } | { kind: 'outside' } {
    if (this.o.mode !== 'secure') return { kind: 'outside' };
    const enclave = e.local.owner.enclave;
    const dest = this.vnet.destination(enclave, addr.ip);
    if (dest.kind !== 'guest' || dest.guest !== enclave || !isLoopback(addr.ip)) return dest;
    const own = this.vnet.find(enclave, proto, addr.family, addr.ip, addr.port, (id) => {
      const x = this.table.find(id);
      return proto === 'tcp' ? isListening(x) : x?.receiveQueue !== undefined;
    });
    if (own !== undefined || !hostLoopbackGrant(this.o.policy, addr.ip, addr.port)) return dest;
    return { kind: 'outside' };
  }

  /**
   * The policy's decision on a destination outside the virtual network,
   * audited; EACCES if refused. Returns where the host sends, in the guest
   * socket's family (an IPv6 host socket reaches IPv4 as IPv4-mapped).
   */
  private outside(e: SocketEntry, op: 'connect' | 'send', addr: SockAddr, family: Family): SockAddr {
    const d = decideConnect(this.o.policy, addr.ip, addr.port, (ip) => [...(this.pinned.get(ip) ?? [])]);
    const target = { family: d.target?.family ?? addr.family, ip: d.target?.ip ?? addr.ip, port: addr.port };
    this.decide(e.local.owner.enclave, op, `${formatAddr(target)}${e.local.type === 'dgram' ? ' (udp)' : ''}`, d.allowed, d.reason);
    return family === 6 && target.family === 4 ? { family: 6, ip: `::ffff:${target.ip}`, port: target.port } : target;
  }

  /** A loopback connection nobody accepts: audited with the grant that would have sent it to the host. */
  private refusedOnLoopback(enclave: string, addr: SockAddr): never {
    const c = canonicalIp(addr.ip)!;
    const at = formatAddr({ ...addr, family: c.family, ip: c.ip });
    const reason = `nothing listens on ${at} in the guest (its own loopback); --allow-connect ${at} would let it reach the host`;
    this.o.onDecision?.({ enclave, op: 'connect', target: at, decision: 'deny', reason, errno: 'CONNREFUSED' });
    throw new SysError(Errno.CONNREFUSED, reason);
  }

  /**
   * A guest's sockets are bounded by --max-sockets: those it holds, and
   * connections it made that wait in a backlog after it closed its end (they
   * hold queues too). A waiting connection counts against the guest that
   * made it, never against the listener's owner until it accepts it: a
   * neighbour cannot use up a victim's quota by connecting and closing.
   */
  private checkSocketLimit(enclave: string, op: NetDecision['op'], errno: number): void {
    const max = this.o.maxSockets ?? Infinity;
    if (this.table.chargedTo(enclave) < max) return;
    const reason = `socket limit of ${max} reached (--max-sockets)`;
    this.o.onDecision?.({ enclave, op, target: 'sockets', decision: 'limit', reason, errno: errno === Errno.NFILE ? 'NFILE' : 'CONNREFUSED' });
    throw new SysError(errno, reason);
  }

  /** Guest-to-guest traffic is governed by the system file's "peers". */
  private checkReach(from: string, to: string, op: NetDecision['op'], addr: SockAddr): void {
    if (this.o.canReach && !this.o.canReach(from, to)) {
      this.decide(from, op, `${to} ${formatAddr(addr)}`, false, `'${to}' is not among the guest's peers in the system file`);
    }
  }

  private connectGuest(e: SocketEntry, guest: string, addr: SockAddr): ConnectReply {
    this.checkReach(e.local.owner.enclave, guest, 'connect', addr);
    const listenerId = this.vnet.find(guest, 'tcp', addr.family, addr.ip, addr.port,
      (id) => isListening(this.table.find(id)));
    const listener = listenerId === undefined ? undefined : this.table.get(listenerId);
    if (!listener && guest === e.local.owner.enclave && isLoopback(addr.ip)) {
      this.table.refused(e, 'connect', Errno.CONNREFUSED, `${guest} ${formatAddr(addr)}`);
      this.refusedOnLoopback(guest, addr);
    }
    // Nothing listening, or its backlog is full (and fairly shared): refused, as a reset from the peer.
    if (!listener || !this.backlogRoom(listener, e.local.owner.enclave)) {
      this.table.refused(e, 'connect', Errno.CONNREFUSED, `${guest} ${formatAddr(addr)}`);
      throw new SysError(Errno.CONNREFUSED);
    }
    this.decide(e.local.owner.enclave, 'connect', `${guest} ${formatAddr(addr)}`, true, 'guest to guest on this layer');
    this.autobind(e, addr);
    const client = e.local.owner.enclave;
    const server = this.table.create('stream', listener.local.family, { enclave: guest, fd: -1 });
    // The connecting socket stands for it until it closes (see closeEntry).
    server.charged = undefined;
    server.from = client;
    const bytes = this.streamBytes(e.local.options, listener.local.options);
    const c2s = this.queue(bytes, guest, client, true);
    const s2c = this.queue(bytes, client, guest, true);
    e.sendQueue = c2s; e.receiveQueue = s2c;
    server.sendQueue = s2c; server.receiveQueue = c2s;
    e.remote = { kind: 'entry', id: server.id };
    server.remote = { kind: 'entry', id: e.id };
    e.local.peer = addr;
    server.local.local = { family: listener.local.family, ip: addr.ip, port: addr.port };
    const source = this.sourceToward(e, guest, addr);
    // A connected socket's local address is the one it speaks from.
    e.local.local = { ...source, family: e.local.family, ip: seenAs(source, e.local.family) };
    server.local.peer = { family: listener.local.family, ip: seenAs(source, listener.local.family), port: source.port };
    server.local.options = { ...listener.local.options };
    // Connected at once: the guest never sees it CONNECTING.
    this.table.apply(e, 'connect', 'connected');
    this.table.apply(server, 'incoming');
    listener.connectionQueue.push(server.id);
    listener.local.event.pending = listener.connectionQueue.length;
    this.wake(guest);
    const peerControl = this.controlOf(guest);
    return {
      local: e.local.local!, peer: addr, pending: false,
      ends: { rx: s2c.sab, tx: c2s.sab, ...(peerControl ? { peerControl } : {}) },
    };
  }

  private async connectHost(e: SocketEntry, addr: SockAddr): Promise<ConnectReply> {
    const enclave = e.local.owner.enclave;
    const target = this.o.mode === 'secure' ? this.outside(e, 'connect', addr, 4) : addr;
    const bytes = this.bridgedBytes(e.local.options);
    const rx = this.queue(bytes, enclave, undefined);
    const tx = this.queue(bytes, undefined, enclave);
    e.receiveQueue = rx; e.sendQueue = tx;
    e.remote = { kind: 'host', address: `${target.ip}:${target.port}` };
    e.local.peer = addr;
    this.table.apply(e, 'connect');
    const host = await this.host();
    // The guest may have been stopped (and its sockets closed) meanwhile: open nothing for it.
    if (stateOf(e.word) === SocketState.CLOSED) throw new SysError(Errno.CONNABORTED);
    const bridged = this.extra(e).bridged = host.connect(target, rx, tx, {
      connected: (local) => {
        // The address first: the owner reads it as soon as it sees CONNECTED (a closed entry is not read again).
        if (this.o.mode === 'normal') e.local.local = local;
        else e.local.local ??= { family: e.local.family, ip: this.vnet.sourceFor(enclave, e.local.family, isLoopback(addr.ip)), port: local.port };
        if (this.table.tryApply(e, 'connected')) this.wake(enclave);
      },
      // Failing while connecting is a failed connect (the owner reads why); later, a reset.
      failed: (errno) => {
        if (this.table.tryApply(e, 'connect-failed', errno) || this.table.tryApply(e, 'reset')) this.wake(enclave);
      },
      closed: () => {
        if (this.table.tryApply(e, 'peer-closed')) this.wake(enclave);
      },
    });
    return { local: e.local.local ?? unspecified(e.local.family), peer: addr, pending: true, ends: { rx: rx.sab, tx: tx.sab, hostFd: bridged.hostFd } };
  }

  /**
   * Whether a connection from `from` may wait in `listener`'s backlog. When
   * it is full, a guest holding fewer waiting slots than another takes the
   * newest of that one's (which is reset): no neighbour can keep the backlog
   * to itself, however many connections it makes.
   */
  private backlogRoom(listener: SocketEntry, from: string): boolean {
    const q = listener.connectionQueue;
    if (q.length < listener.backlog) return true;
    const held = new Map<string | undefined, number[]>();
    for (const id of q) {
      const who = this.table.find(id)?.from;
      let ids = held.get(who);
      if (!ids) held.set(who, (ids = []));
      ids.push(id);
    }
    const mine = held.get(from)?.length ?? 0;
    let top: number[] | undefined;
    for (const ids of held.values()) if (!top || ids.length > top.length) top = ids;
    if (!top || top.length <= mine + 1) return false;
    const evicted = this.table.find(top[top.length - 1]!);
    if (evicted) this.closeEntry(evicted);
    q.splice(q.indexOf(top[top.length - 1]!), 1);
    listener.local.event.pending = q.length;
    return true;
  }

  /** A host connection for `listener` (normal mode, or through --publish). */
  private incoming(listener: SocketEntry, conn: IncomingConnection, local: SockAddr): void {
    const owner = listener.local.owner.enclave;
    const max = this.o.maxSockets ?? Infinity;
    if (!isListening(listener) || listener.connectionQueue.length >= listener.backlog ||
        this.table.chargedTo(owner) >= max) {
      conn.reject();
      return;
    }
    const s = this.table.create('stream', listener.local.family, { enclave: owner, fd: -1 });
    const bytes = this.bridgedBytes(listener.local.options);
    s.receiveQueue = this.queue(bytes, owner, undefined);
    s.sendQueue = this.queue(bytes, undefined, owner);
    s.remote = { kind: 'host', address: `${conn.peer.ip}:${conn.peer.port}` };
    s.local.local = local;
    s.local.peer = conn.peer;
    this.table.apply(s, 'incoming');
    this.extra(s).bridged = conn.attach(s.receiveQueue, s.sendQueue, {
      connected: () => {},
      failed: () => { if (this.table.tryApply(s, 'reset')) this.wake(owner); },
      closed: () => { if (this.table.tryApply(s, 'peer-closed')) this.wake(owner); },
    });
    listener.connectionQueue.push(s.id);
    listener.local.event.pending = listener.connectionQueue.length;
    this.wake(owner);
  }

  private published(rule: PublishRule, conn: IncomingConnection): void {
    const p = this.publishedListener(rule);
    const port = rule.guestPort;
    // The host port listens only while the guest does; a connection can still arrive as it stops.
    this.o.onDecision?.({ enclave: p?.guest ?? '-', op: 'publish', target: `${formatAddr(conn.peer)} -> ${port}`,
      decision: p?.listener ? 'allow' : 'deny', reason: p?.listener ? `published by --publish ${rule.text}` : `nothing listens on port ${port} in the guest` });
    if (!p?.listener) { conn.reject(); return; }
    this.incoming(p.listener, conn, { family: 4, ip: this.vnet.host(p.guest)!.v4, port });
  }

  private accept(e: SocketEntry, fd: number): AcceptReply {
    this.table.check(e, 'accept');
    const id = e.connectionQueue[0];
    if (id === undefined) throw new SysError(Errno.AGAIN);
    const s = this.table.get(id);
    // Accepting makes the connection the owner's: it counts against its limit from now on.
    if (s.charged !== e.local.owner.enclave) this.checkSocketLimit(e.local.owner.enclave, 'accept', Errno.NFILE);
    e.connectionQueue.shift();
    e.local.event.pending = e.connectionQueue.length;
    s.local.owner.fd = fd;
    s.charged = e.local.owner.enclave;
    s.from = undefined;
    this.o.onDecision?.({ enclave: e.local.owner.enclave, op: 'accept', target: formatAddr(s.local.peer), decision: 'allow',
      reason: s.remote.kind === 'host' ? 'a host connection through --publish' : 'guest to guest on this layer' });
    const peer = s.remote.kind === 'entry' ? this.table.find(s.remote.id) : undefined;
    const peerControl = peer ? this.controlOf(peer.local.owner.enclave) : undefined;
    const hostFd = this.extras.get(s.id)?.bridged?.hostFd;
    return {
      id: s.id, block: s.local.event.sab, local: s.local.local!, peer: s.local.peer ?? unspecified(s.local.family),
      ends: { rx: s.receiveQueue!.sab, tx: s.sendQueue!.sab, ...(peerControl ? { peerControl } : {}), ...(hostFd ? { hostFd } : {}) },
    };
  }

  /**
   * Shutting the write side ends the stream for the peer; the read side only
   * stops the owner's reads (it reads the flag from the shared state). Both
   * are kept, so the table knows which half is shut.
   */
  private shutdown(e: SocketEntry, read: boolean, write: boolean): void {
    this.table.check(e, 'shutdown-write');
    if (write) {
      e.sendQueue?.setFlag(RingFlag.WRITER_CLOSED);
      this.table.apply(e, 'shutdown-write');
    }
    if (read) this.table.apply(e, 'shutdown-read');
  }

  private closeEntry(e: SocketEntry): void {
    if (stateOf(e.word) === SocketState.CLOSED) return;
    // Connections nobody accepted are reset.
    for (const id of e.connectionQueue) {
      const pending = this.table.find(id);
      if (pending) this.closeEntry(pending);
    }
    e.connectionQueue.length = 0;
    const x = this.extras.get(e.id);
    if (e.local.type === 'stream' && (e.sendQueue || e.receiveQueue)) {
      // Closing with unread data resets the connection, as TCP does.
      const reset = (e.receiveQueue?.used ?? 0) > 0 || e.local.owner.fd === -1;
      if (reset) {
        e.sendQueue?.setFlag(RingFlag.RESET);
        e.receiveQueue?.setFlag(RingFlag.RESET | RingFlag.READER_CLOSED);
      } else {
        e.sendQueue?.setFlag(RingFlag.WRITER_CLOSED);
        e.receiveQueue?.setFlag(RingFlag.READER_CLOSED);
      }
      x?.bridged?.release(reset);
      const peer = e.remote.kind === 'entry' ? this.table.find(e.remote.id) : undefined;
      if (peer && this.table.tryApply(peer, reset ? 'reset' : 'peer-closed')) this.wake(peer.local.owner.enclave);
      // A connection still waiting to be accepted now counts against the guest that made and closed it.
      if (peer && peer.from !== undefined && peer.local.owner.fd === -1) peer.charged = peer.from;
      // Both ends closed: no thread uses the queues any more.
      if (e.remote.kind === 'entry' && !peer) {
        if (e.sendQueue) this.rings.give(e.sendQueue);
        if (e.receiveQueue) this.rings.give(e.receiveQueue);
      }
    } else {
      e.inbox?.close();
      e.sendQueue?.setFlag(RingFlag.WRITER_CLOSED);
    }
    void x?.hostServer?.close();
    void x?.hostDatagram?.then((d) => d.close(), () => {});
    this.extras.delete(e.id);
    if (e.bound) this.vnet.unbind(e.bound.guest, e.local.protocol, e.bound.port, e.id);
    const wasListening = isListening(e);
    this.table.apply(e, 'close');
    this.table.remove(e);
    if (wasListening) this.unpublishIdle();
  }

  private hostDatagram(e: SocketEntry): Promise<HostDatagramSocket> {
    const x = this.extra(e);
    if (!x.hostDatagram) {
      const enclave = e.local.owner.enclave;
      const local = this.o.mode === 'normal' ? e.local.local : undefined;
      const sender = (from: SockAddr): SockAddr => x.hostPeers?.get(peerKey(from)) ?? from;
      x.hostDatagram = this.host().then((host) => host.datagram(e.local.family, local, e.inbox!.ringFor(undefined), () => this.wake(enclave), sender).then((d) => {
        if (this.o.mode === 'normal') e.local.local = d.local;
        e.sendQueue ??= this.queue(this.datagramBytes(e.local.options.sendBufferSize), undefined, enclave);
        d.drain(e.sendQueue);
        return d;
      }));
    }
    return x.hostDatagram;
  }

  private async route(e: SocketEntry, addr: SockAddr): Promise<RouteReply> {
    if (e.local.type !== 'dgram') throw new SysError(Errno.INVAL);
    checkFamily(addr, e.local.family);
    const enclave = e.local.owner.enclave;
    let stamp = addr;
    if (this.o.mode === 'secure') {
      this.autobind(e, addr);
      const dest = this.where(e, addr, 'udp');
      if (dest.kind === 'guest') {
        this.checkReach(enclave, dest.guest, 'send', addr);
        const id = this.vnet.find(dest.guest, 'udp', addr.family, addr.ip, addr.port, (i) => this.table.find(i)?.inbox !== undefined);
        const t = id === undefined ? undefined : this.table.get(id);
        if (!t?.inbox) return { kind: 'drop', local: e.local.local! };
        const peerControl = this.controlOf(t.local.owner.enclave);
        const source = this.sourceToward(e, dest.guest, addr);
        return { kind: 'queue', queue: t.inbox.ringFor(enclave).sab, ...(peerControl ? { peerControl } : {}), local: e.local.local!,
          stamp: { family: t.local.family, ip: seenAs(source, t.local.family), port: source.port } };
      }
      stamp = this.outside(e, 'send', addr, e.local.family);
      const peers = (this.extra(e).hostPeers ??= new Map());
      // Bounded: a guest spraying destinations cannot grow it without end.
      if (peers.size >= MAX_HOST_PEERS) peers.delete(peers.keys().next().value!);
      peers.set(peerKey(stamp), addr);
    }
    await this.hostDatagram(e);
    return { kind: 'queue', queue: e.sendQueue!.sab, local: e.local.local ?? unspecified(e.local.family), stamp };
  }

  /**
   * The canonical address traffic from `e` to `to` in guest `guest` comes
   * from. Toward another guest it is always the sender's own address,
   * whatever it bound (loopback, a wildcard): no guest can pass for a
   * neighbour's loopback. Within the guest a bound address is kept, and a
   * wildcard speaks from loopback or the guest's own address as it aims.
   */
  private sourceToward(e: SocketEntry, guest: string, to: SockAddr): { family: Family; ip: string; port: number } {
    const local = e.local.local!;
    const sender = e.local.owner.enclave;
    const target = canonicalIp(to.ip)!;
    if (guest !== sender) return { family: target.family, ip: this.vnet.sourceFor(sender, target.family, false), port: local.port };
    const bound = canonicalIp(local.ip)!;
    if (!isUnspecified(bound.ip)) return { ...bound, port: local.port };
    const toLoopback = isLoopback(target.ip) || isUnspecified(target.ip);
    return { family: target.family, ip: this.vnet.sourceFor(sender, target.family, toLoopback), port: local.port };
  }

  private setopt(e: SocketEntry, option: string, value: number | boolean | null): void {
    if (!(option in e.local.options)) throw new SysError(Errno.NOPROTOOPT);
    (e.local.options as unknown as Record<string, unknown>)[option] = value;
  }

  private async resolve(enclave: string, name: string, port: number): Promise<SockAddr[]> {
    const literal = canonicalIp(name);
    if (literal) return [{ family: literal.family, ip: literal.ip, port }];
    if (this.o.mode === 'secure') {
      const n = name.toLowerCase().replace(/\.$/, '');
      if (n === HOST_GATEWAY.name) return [{ family: 4, ip: HOST_GATEWAY.v4, port }];
      const local = this.vnet.lookupName(n, enclave);
      if (local) return local.map((a) => ({ ...a, port }));
      const d = decideResolve(this.o.policy, n);
      this.decide(enclave, 'resolve', n, d.allowed, d.reason);
      const found = await (await this.host()).lookup(n);
      for (const a of found) {
        const ip = canonicalIp(a.ip)!.ip;
        let names = this.pinned.get(ip);
        if (!names) this.pinned.set(ip, (names = new Set()));
        names.add(n);
      }
      return found.map((a) => ({ ...a, port }));
    }
    // Normal mode: every guest's ports are host ports, so a guest's name is the host's loopback.
    if (this.vnet.host(name.toLowerCase().replace(/\.$/, ''))) return [{ family: 4, ip: '127.0.0.1', port }, { family: 6, ip: '::1', port }];
    return (await (await this.host()).lookup(name)).map((a) => ({ ...a, port }));
  }
}

const isListening = (e: SocketEntry | undefined): boolean => e !== undefined && stateOf(e.word) === SocketState.LISTENING;

/** `a` as a socket of `family` sees it: IPv4 on an IPv6 (dual-stack) socket is IPv4-mapped, as on Linux. */
function seenAs(a: { family: Family; ip: string }, family: Family): string {
  return family === 6 && a.family === 4 ? `::ffff:${a.ip}` : a.ip;
}

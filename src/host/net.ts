// The host's network for the layer: TCP through node:net, UDP through
// node:dgram, names through node:dns. Each bridged stream is pumped between
// a host socket and the guest's rings: host data into the receive queue
// (pausing the socket while the queue is full), the send queue out to the
// socket (waiting for 'drain'), ends and errors turned into ring flags. The
// owning enclave writes the socket itself, and reads it while the host hands
// it the reads (net-reads.ts).

import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import net from 'node:net';
import { Errno, SysError } from '../core/errno.js';
import { canonicalIp, type Family, type SockAddr } from '../core/net/address.js';
import { putDatagram, takeDatagram, MAX_DATAGRAM } from '../layer/net/datagram.js';
import type { Bridged, HostDatagramSocket, HostNet, HostServer, IncomingConnection, StreamEvents } from '../layer/net/host-net.js';
import { Ring, RingFlag } from '../layer/ring.js';
import { errnoOf } from '../core/host-errno.js';
import { HostFdLease } from '../layer/net/host-fd.js';
import { HostReads } from './net-reads.js';

const CHUNK = 256 * 1024;
/**
 * Once its guest is gone, a host connection delivers what is still queued
 * as long as the host peer takes it; one that moves nothing for this long is
 * closed (reset if bytes are left), so a peer that never reads cannot keep
 * Capsule from exiting.
 */
const ORPHAN_IDLE_MS = 2000;

function addrOf(address: string | undefined, port: number | undefined, family?: string | number): SockAddr {
  const c = canonicalIp(address ?? '0.0.0.0');
  const fam: Family = family === 'IPv6' || family === 6 || (address ?? '').includes(':') ? 6 : 4;
  return { family: fam, ip: fam === 6 ? (address ?? '::') : (c?.ip ?? '0.0.0.0'), port: port ?? 0 };
}

/** A connected socket's descriptor (libuv's, on Linux), or -1. */
function descriptorOf(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * Lends the socket's descriptor to the owning enclave once connected, and
 * makes Node close it (in _destroy, whatever destroys the socket: an error,
 * a reset, a release) only after the lease is revoked.
 */
function lendDescriptor(socket: net.Socket, lease: HostFdLease, reads: HostReads): void {
  const destroy = socket._destroy.bind(socket);
  socket._destroy = (err, callback) => {
    reads.close();
    void lease.revoke().then(() => destroy(err, callback));
  };
  const lend = (): void => {
    lease.lend(descriptorOf(socket));
    reads.attach();
  };
  if (!socket.connecting) lend();
  else socket.once('connect', lend);
}

/** Joins a connected host socket to a stream's rings until either side ends. */
function pump(socket: net.Socket, rx: Ring, tx: Ring, events: StreamEvents): Bridged {
  const lease = HostFdLease.create();
  const pending: Buffer[] = [];
  let writingIn = false;
  // The enclave may read the socket itself once everything Node read is in the receive queue.
  const reads = new HostReads(socket, lease, () => pending.length === 0 && !writingIn && socket.readableLength === 0,
    () => rx.wakeAll());
  lendDescriptor(socket, lease, reads);
  let done = false;
  /** Bumped whenever bytes move either way: how an orphaned connection shows it is still alive. */
  let moved = 0;

  // Host -> guest.
  const deliver = async (): Promise<void> => {
    writingIn = true;
    while (pending.length > 0 && !done) {
      const head = pending[0]!;
      const n = rx.tryWrite(head);
      if (n === head.byteLength) pending.shift();
      else pending[0] = head.subarray(n);
      if (pending.length > 0) {
        socket.pause();
        await rx.spaceAvailable(1);
        if (rx.flag(RingFlag.READER_CLOSED)) pending.length = 0;
      }
    }
    writingIn = false;
    if (!done) socket.resume();
    reads.delivered();
  };
  socket.on('data', (chunk: Buffer) => {
    moved++;
    pending.push(chunk);
    if (!writingIn) void deliver();
  });
  socket.on('end', () => {
    const finish = (): void => { if (writingIn) setTimeout(finish, 1); else rx.setFlag(RingFlag.WRITER_CLOSED); };
    finish();
  });
  socket.on('error', (err) => {
    done = true;
    rx.setFlag(RingFlag.RESET);
    tx.setFlag(RingFlag.READER_CLOSED);
    events.failed(errnoOf(err));
  });
  socket.on('close', () => {
    done = true;
    reads.close();
    tx.setFlag(RingFlag.READER_CLOSED);
    events.closed();
  });

  // Guest -> host.
  void (async () => {
    while (!done) {
      await tx.dataAvailable();
      if (done) break;
      if (tx.flag(RingFlag.RESET)) { socket.destroy(); break; }
      const n = Math.min(tx.used, CHUNK);
      if (n > 0) {
        // The socket writes straight from the ring; the bytes are released once it has them.
        const views = tx.views(n);
        await new Promise<void>((resolve) => {
          views.forEach((v, i) => {
            socket.write(Buffer.from(v.buffer, v.byteOffset, v.byteLength), i === views.length - 1 ? () => resolve() : undefined);
          });
        });
        tx.consume(n);
        moved++;
      } else if (tx.flag(RingFlag.WRITER_CLOSED)) {
        socket.end();
        break;
      }
    }
  })();

  return {
    hostFd: lease.sab,
    ownerGone(): void {
      lease.revokeNow();
      reads.takeBack();
      let seen = moved;
      const watch = setInterval(() => {
        if (socket.destroyed) { clearInterval(watch); return; }
        if (moved !== seen) { seen = moved; return; }
        clearInterval(watch);
        done = true;
        if (tx.used > 0 || socket.writableLength > 0) socket.resetAndDestroy();
        else socket.destroy();
      }, ORPHAN_IDLE_MS);
      watch.unref();
      socket.once('close', () => clearInterval(watch));
    },
    release(abort: boolean): void {
      if (abort) {
        done = true;
        socket.destroy();
      } else {
        // The send queue's writer is closed by the layer; the pump ends the socket once it drains,
        // and Node reads again (what comes is dropped) until the peer ends too.
        reads.takeBack();
        tx.setFlag(RingFlag.WRITER_CLOSED);
      }
    },
  };
}

export class NodeHostNet implements HostNet {
  connect(addr: SockAddr, rx: Ring, tx: Ring, events: StreamEvents): Bridged {
    const socket = net.connect({ host: addr.ip, port: addr.port, family: addr.family, allowHalfOpen: true });
    socket.setNoDelay(true);
    const bridged = pump(socket, rx, tx, {
      connected: events.connected,
      failed: events.failed,
      closed: events.closed,
    });
    socket.once('connect', () => {
      events.connected(addrOf(socket.localAddress, socket.localPort, socket.localFamily),
        addrOf(socket.remoteAddress, socket.remotePort, socket.remoteFamily));
    });
    return bridged;
  }

  listen(addr: SockAddr, backlog: number, onConnection: (c: IncomingConnection) => void): Promise<HostServer> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
        socket.setNoDelay(true);
        onConnection({
          local: addrOf(socket.localAddress, socket.localPort, socket.localFamily),
          peer: addrOf(socket.remoteAddress, socket.remotePort, socket.remoteFamily),
          attach: (rx, tx, events) => {
            const b = pump(socket, rx, tx, events);
            socket.resume();
            return b;
          },
          reject: () => socket.resetAndDestroy(),
        });
      });
      server.once('error', (err) => reject(new SysError(errnoOf(err), err.message)));
      server.listen({ host: addr.ip, port: addr.port, backlog, ipv6Only: false }, () => {
        const a = server.address() as net.AddressInfo;
        resolve({ local: addrOf(a.address, a.port, a.family), close: () => new Promise((done) => server.close(() => done())) });
      });
    });
  }

  datagram(family: Family, local: SockAddr | undefined, inbound: Ring, onReceive: () => void,
    sender: (from: SockAddr) => SockAddr = (from) => from): Promise<HostDatagramSocket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      socket.on('message', (msg, rinfo) => {
        putDatagram(inbound, sender(addrOf(rinfo.address, rinfo.port, rinfo.family)), [msg]);
        onReceive();
      });
      socket.once('error', (err) => reject(new SysError(errnoOf(err), err.message)));
      socket.bind({ address: local?.ip, port: local?.port ?? 0 }, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => { /* ICMP errors are not reported to UDP senders here */ });
        const a = socket.address();
        let draining: Ring | undefined;
        let closed = false;
        const buf = new Uint8Array(MAX_DATAGRAM);
        resolve({
          local: addrOf(a.address, a.port, a.family),
          drain: (outbound: Ring) => {
            if (draining) return;
            draining = outbound;
            void (async () => {
              for (;;) {
                await outbound.dataAvailable();
                if (closed || (outbound.flag(RingFlag.WRITER_CLOSED) && outbound.used === 0)) break;
                let d;
                while ((d = takeDatagram(outbound, [buf]))) {
                  socket.send(buf.subarray(0, d.copied), d.from.port, d.from.ip);
                }
              }
            })();
          },
          close: () => {
            closed = true;
            // Ends the drain loop even on a queue nobody will close (the socket closed while it was being made).
            draining?.setFlag(RingFlag.READER_CLOSED);
            try { socket.close(); } catch { /* already closed */ }
          },
        });
      });
    });
  }

  async lookup(name: string): Promise<SockAddr[]> {
    try {
      const found = await dns.lookup(name, { all: true, verbatim: true });
      return found.map((f) => ({ family: f.family === 6 ? 6 : 4, ip: f.address, port: 0 }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SysError(code === 'ENOTFOUND' || code === 'ENODATA' ? Errno.NOENT : errnoOf(err), `cannot resolve ${name}`);
    }
  }
}

// A complete guest context made of in-memory parts, for fuzzing the imports
// (test/unit/fuzz-imports.test.ts). It mirrors src/enclave/worker.ts: one
// page of linear memory, fake stdin/stdout/stderr, a tmpfs preopen at fd 3
// (and a read-only one at fd 10), an open file, an open subdirectory and
// four sockets over a fake network layer that answers at once.
//
// Nothing here may block: stdin ends after a few bytes, stream sockets
// receive a few bytes and then the end of the stream, datagram sockets have
// a few datagrams queued, listeners get a connection whenever the guest
// waits, and waits advance a virtual clock instead of sleeping. A call that
// would still wait forever throws FuzzHang after MAX_WAITS waits (which the
// glue turns into EIO and logs as an unexpected host error).

import { Errno, SysError } from '../../src/core/errno.js';
import { GuestMemory } from '../../src/abi/memory.js';
import { encodeUtf8 } from '../../src/core/utf8.js';
import { createPreview1 } from '../../src/abi/preview1/index.js';
import type { WasixContext } from '../../src/abi/wasix/context.js';
import { createWasix } from '../../src/abi/wasix/index.js';
import { wasiThreadsFunctions } from '../../src/abi/wasix/wasi-threads.js';
import { MAIN_TID, threadContext } from '../../src/enclave/guest-threads.js';
import { Signals } from '../../src/abi/wasix/signals.js';
import { WorkingDirectory } from '../../src/layer/fs/working-directory.js';
import { ADDR_PORT_SIZE } from '../../src/abi/wasix/address.js';
import { ClockId, DIRECTORY_RIGHTS, EventType, FILE_RIGHTS, Filetype, OFlags, READ_ONLY_INHERITING, SubClockFlags, WRITE_RIGHTS } from '../../src/core/witx.js';
import type { Readiness } from '../../src/layer/descriptor.js';
import { FdTable } from '../../src/layer/fdtable.js';
import { DirectoryDescriptor } from '../../src/layer/fs/directory.js';
import { FileDescriptor } from '../../src/layer/fs/file.js';
import { MemDir } from '../../src/layer/fs/memfs.js';
import type { DirEntry, DirNode } from '../../src/layer/fs/backend.js';
import { Listings } from '../../src/layer/fs/listing.js';
import { canonicalIp, checkFamily, unspecified, type Family, type SockAddr } from '../../src/core/net/address.js';
import { ControlBlock } from '../../src/layer/net/control-block.js';
import { putDatagram } from '../../src/layer/net/datagram.js';
import type { NetCalls, NetRequest, SockType, SocketContext } from '../../src/layer/net/protocol.js';
import { SocketDescriptor } from '../../src/layer/net/socket.js';
import { INITIAL_WORD, SocketState, stateOf, tryApply, type SocketOp } from '../../src/layer/net/status.js';
import { Ring, RingFlag } from '../../src/layer/ring.js';
import { InputStream, OutputStream, type StreamSink, type StreamSource } from '../../src/layer/stdio.js';
import { hostClocks } from '../../src/layer/clocks.js';

export const PAGE = 65536;
/** Waits one call may make before it is declared stuck. */
export const MAX_WAITS = 2000;

type Fn = (...args: never[]) => unknown;
export type Imports = Record<string, Fn>;

/** Thrown by the fake waits when a call would wait forever. */
export class FuzzHang extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzHang';
  }
}

// ---------------------------------------------------------------------------
// The virtual clock: waits advance it instead of sleeping.

const realNow = performance.now.bind(performance);
let skew = 0;

/** Makes performance.now() virtual (waits move it forward); returns the undo. */
export function installVirtualClock(): () => void {
  performance.now = () => realNow() + skew;
  return () => {
    delete (performance as unknown as { now?: unknown }).now;
    skew = 0;
  };
}

// ---------------------------------------------------------------------------
// Where the "structured" memory fill puts things a guest would pass.

export const LAYOUT = {
  /** Strings (paths, host names), see STRINGS. */
  strings: 0x100,
  /** 8 iovecs over DATA. */
  iovecs: 0x800,
  /** 8 subscriptions of 48 bytes. */
  subs: 0xa00,
  /** 4 addr_port structs of 110 bytes: v4, v6, unix, bad tag. */
  addrs: 0xd00,
  /** Two sock_set_opt_time structs (16 bytes): set 1 ms, and "none". */
  times: 0xf00,
  /** Buffers the iovecs point at (random bytes). */
  data: 0x1000,
  /** A zeroed area for results. */
  out: 0x4000,
} as const;

export const IOVEC_LENS = [0, 1, 7, 16, 64, 100, 3, 255] as const;

const STRING_LIST: (string | Uint8Array)[] = [
  'a.txt', 'dir', 'dir/b.txt', 'link', 'dangling', 'loop', 'dirlink', 'empty', 'new.txt', 'newdir',
  'dir/', 'a.txt/', './a.txt', 'dir/../a.txt', '../x', '/abs', '.', '..', 'x\0y', 'dirlink/b.txt',
  'empty/../../a.txt', 'empty/../new.txt', 'ro.txt', 'localhost', '127.0.0.1', '::1', 'example.com', 'é', 'a'.repeat(300),
  new Uint8Array([0xff, 0xfe, 0x41]), new Uint8Array([0xc3]),
];

/** Each prepared string's pointer and byte length. */
export const STRINGS: readonly { ptr: number; len: number; text: string }[] = (() => {
  const out: { ptr: number; len: number; text: string }[] = [];
  let at = LAYOUT.strings;
  for (const s of STRING_LIST) {
    const bytes = typeof s === 'string' ? encodeUtf8(s) : s;
    out.push({ ptr: at, len: bytes.byteLength, text: typeof s === 'string' ? s : `bytes ${[...s].join(',')}` });
    at += bytes.byteLength + 3;
  }
  if (at > LAYOUT.iovecs) throw new Error('fuzz layout: strings overflow');
  return out;
})();

/** Pointers worth trying for any pointer argument. */
export const INTERESTING_POINTERS: readonly number[] = [
  ...STRINGS.map((s) => s.ptr),
  LAYOUT.iovecs, LAYOUT.iovecs + 8, LAYOUT.iovecs + 56,
  ...Array.from({ length: 8 }, (_, i) => LAYOUT.subs + i * 48),
  ...Array.from({ length: 4 }, (_, i) => LAYOUT.addrs + i * 112),
  LAYOUT.times, LAYOUT.times + 16, LAYOUT.data, LAYOUT.out, LAYOUT.out + 1, LAYOUT.out + 64, LAYOUT.out + 0x1000,
];

export type Fill = 'zero' | 'ones' | 'random' | 'structured';

export interface WorldConfig {
  fill: Fill;
  seed: number;
  /** GuestMemory.callBytes: Infinity in normal mode, 16 MiB by default in secure mode. */
  callBytes: number;
}

function xorshift(seed: number): () => number {
  let x = seed | 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

/** The one linear memory all worlds share (refilled for each). */
const wasmMemory = new WebAssembly.Memory({ initial: 1, maximum: 1 });

function fillMemory(cfg: WorldConfig): void {
  const bytes = new Uint8Array(wasmMemory.buffer);
  const words = new Uint32Array(wasmMemory.buffer);
  const rand = xorshift(cfg.seed);
  if (cfg.fill === 'ones') { bytes.fill(0xff); return; }
  if (cfg.fill === 'random') { for (let i = 0; i < words.length; i++) words[i] = rand(); return; }
  bytes.fill(0);
  if (cfg.fill === 'zero') return;
  const view = new DataView(wasmMemory.buffer);
  STRING_LIST.forEach((s, i) => bytes.set(typeof s === 'string' ? encodeUtf8(s) : s, STRINGS[i]!.ptr));
  IOVEC_LENS.forEach((len, i) => {
    view.setUint32(LAYOUT.iovecs + i * 8, LAYOUT.data + i * 256, true);
    view.setUint32(LAYOUT.iovecs + i * 8 + 4, len, true);
  });
  // Subscriptions: userdata i+1, then a tag and its body.
  const sub = (i: number, tag: number, body: (p: number) => void): void => {
    const p = LAYOUT.subs + i * 48;
    view.setBigUint64(p, BigInt(i + 1), true);
    view.setUint8(p + 8, tag);
    body(p);
  };
  const clock = (id: number, timeout: bigint, flags: number) => (p: number): void => {
    view.setUint32(p + 16, id, true);
    view.setBigUint64(p + 24, timeout, true);
    view.setUint16(p + 40, flags, true);
  };
  const fd = (n: number) => (p: number): void => view.setUint32(p + 16, n, true);
  sub(0, EventType.CLOCK, clock(ClockId.MONOTONIC, 1000n, 0));
  sub(1, EventType.FD_READ, fd(0));
  sub(2, EventType.FD_WRITE, fd(1));
  sub(3, EventType.FD_READ, fd(8));
  sub(4, EventType.CLOCK, clock(ClockId.REALTIME, 0n, SubClockFlags.ABSTIME));
  sub(5, EventType.FD_READ, fd(7));
  sub(6, EventType.CLOCK, clock(ClockId.MONOTONIC, 5_000_000_000n, 0));
  sub(7, 9, fd(0));
  // addr_port: v4 10.0.0.1:80, v6 ::1:443, a unix address, a bad tag.
  const a = LAYOUT.addrs;
  view.setUint8(a, 1); view.setUint16(a + 2, 80, true); bytes.set([10, 0, 0, 1], a + 4);
  view.setUint8(a + 112, 2); view.setUint16(a + 114, 443, true); bytes[a + 112 + 4 + 15] = 1;
  view.setUint8(a + 224, 3);
  view.setUint8(a + 336, 9);
  if (a + 336 + ADDR_PORT_SIZE > LAYOUT.times) throw new Error('fuzz layout: addresses overflow');
  view.setUint8(LAYOUT.times, 1); view.setBigUint64(LAYOUT.times + 8, 1_000_000n, true);
  for (let i = LAYOUT.data; i < LAYOUT.out; i++) bytes[i] = rand() & 0xff;
}

// ---------------------------------------------------------------------------
// Fake stdio.

class FakeStdin implements StreamSource {
  pos = 0;
  constructor(private readonly data: Uint8Array) {}
  read(buf: Uint8Array, _nonblocking: boolean): number {
    const n = Math.min(buf.byteLength, this.data.byteLength - this.pos);
    buf.set(this.data.subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }
  readiness(): Readiness {
    const left = this.data.byteLength - this.pos;
    return { ready: true, nbytes: BigInt(left), hangup: left === 0 };
  }
}

class FakeSink implements StreamSink {
  readonly written = [0, 0, 0];
  write(fd: number, bufs: Uint8Array[]): number {
    let n = 0;
    for (const b of bufs) n += b.byteLength;
    this.written[fd] = (this.written[fd] ?? 0) + n;
    return n;
  }
  writeFrom(fd: number, _src: Uint8Array, _start: number, len: number): number {
    this.written[fd] = (this.written[fd] ?? 0) + len;
    return len;
  }
  writable(): boolean { return true; }
  flush(): void {}
}

// ---------------------------------------------------------------------------
// A fake network layer: synchronous, follows the status transitions of
// src/layer/net/status.ts, never blocks.

interface FakeSocket {
  id: number;
  family: Family;
  type: SockType;
  block: ControlBlock;
  local?: SockAddr;
  rings: Ring[];
}

const STREAM_RX = 4096;
const STREAM_TX = 256 * 1024;

export class FakeNet implements NetCalls {
  private nextId = 1;
  readonly sockets = new Map<number, FakeSocket>();
  calls = 0;

  call<R>(req: NetRequest): R {
    this.calls++;
    return this.handle(req) as R;
  }

  private own(id: number): FakeSocket {
    const s = this.sockets.get(id);
    if (!s) throw new SysError(Errno.BADF);
    return s;
  }

  private step(s: FakeSocket, op: SocketOp, apply = true): void {
    const t = tryApply(s.block.status, op);
    if (!t.ok) throw new SysError(t.errno);
    if (apply) s.block.status = t.word;
  }

  private ring(bytes: number): Ring {
    return Ring.create(bytes);
  }

  /** Stream queues: a few bytes to receive then the end of the stream; room to send. */
  private streamEnds(s: FakeSocket): { rx: SharedArrayBuffer; tx: SharedArrayBuffer } {
    const rx = this.ring(STREAM_RX);
    const tx = this.ring(STREAM_TX);
    rx.tryWrite(encodeUtf8('hello from the fake network\n'));
    rx.setFlag(RingFlag.WRITER_CLOSED);
    s.rings.push(rx, tx);
    return { rx: rx.sab, tx: tx.sab };
  }

  private create(family: Family, type: SockType, status: number): FakeSocket {
    const s: FakeSocket = { id: this.nextId++, family, type, block: new ControlBlock(), rings: [] };
    s.block.status = status;
    this.sockets.set(s.id, s);
    return s;
  }

  private handle(req: NetRequest): unknown {
    switch (req.op) {
      case 'open': {
        if (req.family !== 4 && req.family !== 6) throw new SysError(Errno.AFNOSUPPORT);
        const s = this.create(req.family, req.type, INITIAL_WORD);
        if (req.type === 'dgram') {
          const rx = this.ring(4096);
          for (let i = 0; i < 5; i++) {
            putDatagram(rx, { family: req.family, ip: req.family === 4 ? '10.0.0.7' : 'fe80::7', port: 5000 + i }, [new Uint8Array(16).fill(i)]);
          }
          s.rings.push(rx);
          // The inbox holds one ring, from the host.
          s.block.inbox = 1;
        }
        return { id: s.id, block: s.block.sab };
      }
      case 'inbox': {
        const s = this.own(req.id);
        return s.type === 'dgram' ? [{ id: s.id, sab: s.rings[0]!.sab }] : [];
      }
      case 'bind': {
        const s = this.own(req.id);
        this.step(s, 'bind', false);
        checkFamily(req.addr, s.family);
        this.step(s, 'bind');
        s.local = req.addr.port === 0 ? { ...req.addr, port: 49152 } : req.addr;
        return { local: s.local };
      }
      case 'listen': {
        const s = this.own(req.id);
        if (s.type !== 'stream') throw new SysError(Errno.NOTSUP);
        this.step(s, 'listen');
        s.local ??= unspecified(s.family, 49153);
        return { local: s.local };
      }
      case 'connect': {
        const s = this.own(req.id);
        checkFamily(req.addr, s.family);
        if (s.type === 'dgram') {
          this.step(s, 'connect-datagram');
          s.local ??= unspecified(s.family, 49154);
          return { local: s.local, peer: req.addr, pending: false };
        }
        this.step(s, 'connect');
        this.step(s, 'connected');
        s.local ??= unspecified(s.family, 49155);
        return { local: s.local, peer: req.addr, pending: false, ends: this.streamEnds(s) };
      }
      case 'accept': {
        const s = this.own(req.id);
        this.step(s, 'accept');
        if (s.block.pending === 0) throw new SysError(Errno.AGAIN);
        s.block.pending--;
        const c = this.create(s.family, 'stream', INITIAL_WORD);
        this.step(c, 'incoming');
        const local = s.local ?? unspecified(s.family, 80);
        const peer = s.family === 4 ? { family: 4 as const, ip: '10.0.0.9', port: 40000 } : { family: 6 as const, ip: 'fe80::9', port: 40000 };
        return { id: c.id, block: c.block.sab, ends: this.streamEnds(c), local, peer };
      }
      case 'shutdown': {
        const s = this.own(req.id);
        this.step(s, 'shutdown-write', req.write);
        if (req.read) this.step(s, 'shutdown-read');
        return undefined;
      }
      case 'close': {
        const s = this.own(req.id);
        this.step(s, 'close');
        this.sockets.delete(s.id);
        return undefined;
      }
      case 'route': {
        const s = this.own(req.id);
        if (s.type !== 'dgram') throw new SysError(Errno.INVAL);
        checkFamily(req.addr, s.family);
        s.local ??= unspecified(s.family, 49156);
        if (req.addr.port === 9) return { kind: 'drop', local: s.local };
        const q = this.ring(4096);
        s.rings.push(q);
        return { kind: 'queue', queue: q.sab, local: s.local, stamp: req.addr };
      }
      case 'setopt':
        this.own(req.id);
        return undefined;
      case 'resolve': {
        const literal = canonicalIp(req.name);
        if (literal) return [{ ...literal, port: req.port }];
        if (req.name === 'localhost') return [{ family: 4, ip: '127.0.0.1', port: req.port }, { family: 6, ip: '::1', port: req.port }];
        if (req.name === 'example.com') return [{ family: 4, ip: '93.184.215.14', port: req.port }];
        throw new SysError(Errno.ACCES, `the fake network resolves no '${req.name}'`);
      }
    }
  }

  /** Something arrives while the guest waits: every listener gets a connection. */
  deliver(): void {
    for (const s of this.sockets.values()) {
      if (stateOf(s.block.status) === SocketState.LISTENING) s.block.pending++;
    }
  }

  /** What a call could change in the network, as text. */
  snapshot(): string {
    return [...this.sockets.values()]
      .map((s) => `${s.id}:${s.type}:${s.block.status}:${s.block.pending}:${s.rings.map((r) => r.used).join('/')}`)
      .join(' ');
  }
}

// ---------------------------------------------------------------------------
// The world: a context, its imports and what a call may observably change.

export interface World {
  ctx: WasixContext;
  memory: GuestMemory;
  preview1: Imports;
  wasix: Imports;
  /** wasi-threads' spawn. */
  wasi: Imports;
  tmpfs: MemDir;
  net: FakeNet;
  sink: FakeSink;
  stdin: FakeStdin;
  /** Waits made since the counter was last reset. */
  waits: number;
  /** Everything outside guest memory a call could change, as text. */
  snapshot(): string;
  /** Names, types and sizes below the tmpfs root, recursively (not following symlinks). */
  listing(): string[];
}

function populate(root: MemDir): void {
  const create = { read: true, write: true, create: true, exclusive: false, truncate: false };
  root.openFile('a.txt', create).write(encodeUtf8('the quick brown fox\n'), 0);
  root.mkdir('dir');
  root.openDir('dir').openFile('b.txt', create).write(new Uint8Array(300).fill(0x62), 0);
  root.mkdir('empty');
  root.symlink('a.txt', 'link');
  root.symlink('missing', 'dangling');
  root.symlink('loop', 'loop');
  root.symlink('dir', 'dirlink');
}

function walk(dir: DirNode, prefix: string, out: string[]): void {
  const entries: DirEntry[] = [];
  const stream = dir.list();
  for (let e = stream.next(); e !== undefined; e = stream.next()) entries.push(e);
  stream.close();
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const s = dir.statChild(e.name);
    const path = prefix + e.name;
    if (s.filetype === Filetype.DIRECTORY) {
      out.push(`${path}/ nlink=${s.nlink}`);
      walk(dir.openDir(e.name), path + '/', out);
    } else if (s.filetype === Filetype.SYMBOLIC_LINK) {
      out.push(`${path} -> ${dir.readlink(e.name)}`);
    } else {
      out.push(`${path} size=${s.size} nlink=${s.nlink}`);
    }
  }
}

export function makeWorld(cfg: WorldConfig): World {
  fillMemory(cfg);
  const memory = new GuestMemory();
  memory.attach(wasmMemory);
  memory.callBytes = cfg.callBytes;
  const fds = new FdTable(64);
  const sink = new FakeSink();
  const stdin = new FakeStdin(encodeUtf8('line one\nline two\n'));
  fds.set(0, new InputStream(stdin, false));
  fds.set(1, new OutputStream(sink, 1, false));
  fds.set(2, new OutputStream(sink, 2, true));

  const tmpfs = MemDir.create(1024 * 1024, '/tmp');
  populate(tmpfs);
  const counters = { read: 0, written: 0 };
  const listings = new Listings();
  const root = new DirectoryDescriptor(tmpfs, DIRECTORY_RIGHTS, DIRECTORY_RIGHTS | FILE_RIGHTS, '/tmp', counters, listings);
  fds.set(3, root);
  // fd 4: a.txt open for reading and writing; fd 5: the subdirectory "dir".
  fds.set(4, root.open('a.txt', { follow: false, oflags: 0, rightsBase: FILE_RIGHTS, rightsInheriting: 0, fdflags: 0 }) as FileDescriptor);
  fds.set(5, root.open('dir', { follow: false, oflags: OFlags.DIRECTORY, rightsBase: DIRECTORY_RIGHTS,
    rightsInheriting: DIRECTORY_RIGHTS | FILE_RIGHTS, fdflags: 0 }));

  const net = new FakeNet();
  let epoch = 0;
  const world = { waits: 0 } as World;
  const wait = (_seen: number, timeoutMs: number): void => {
    if (++world.waits > MAX_WAITS) {
      throw new FuzzHang(`still waiting after ${MAX_WAITS} waits (last timeout ${timeoutMs} ms): the call would block forever`);
    }
    net.deliver();
    epoch++;
    if (timeoutMs > 0 && timeoutMs !== Infinity) skew += timeoutMs;
  };
  const socketContext: SocketContext = {
    net,
    events: { epoch: () => epoch, wait },
    usage: { peers: new Map(), socketsOpened: 0 },
  };
  // fd 6: unconnected stream; 7: connected stream; 8: IPv6 listener; 9: bound datagram socket.
  fds.set(6, SocketDescriptor.open(socketContext, 6, 4, 'stream'));
  const connected = SocketDescriptor.open(socketContext, 7, 4, 'stream');
  connected.connect({ family: 4, ip: '10.0.0.2', port: 80 });
  fds.set(7, connected);
  const listener = SocketDescriptor.open(socketContext, 8, 6, 'stream');
  listener.listen(16);
  fds.set(8, listener);
  const dgram = SocketDescriptor.open(socketContext, 9, 4, 'dgram');
  dgram.bind({ family: 4, ip: '0.0.0.0', port: 5353 });
  fds.set(9, dgram);

  // fd 10: a second, read-only preopen on another tmpfs (for EXDEV and write denials).
  const ro = MemDir.create(64 * 1024, '/ro');
  ro.openFile('ro.txt', { read: true, write: true, create: true, exclusive: false, truncate: false }).write(encodeUtf8('ro'), 0);
  fds.set(10, new DirectoryDescriptor(ro, DIRECTORY_RIGHTS & ~WRITE_RIGHTS, READ_ONLY_INHERITING, '/ro', counters, listings));

  const ctx: WasixContext = {
    // The guest's one thread: its memory is not shared, its sleeps are the world's waits.
    threads: threadContext({ memory: () => undefined, guestMemory: memory, tid: MAIN_TID, sleep: (ms) => wait(epoch, ms) }),
    memory,
    fds,
    args: ['prog', 'arg one', 'é'].map(encodeUtf8),
    env: ['HOME=/tmp', 'EMPTY='].map(encodeUtf8),
    clocks: hostClocks,
    randomFill: (buf) => { buf.fill(0x5a); },
    eventEpoch: () => epoch,
    waitForEvents: wait,
    net,
    openSocket: (fd, family, type) => SocketDescriptor.open(socketContext, fd, family, type),
    signals: new Signals(),
    cwd: new WorkingDirectory([fds.peek(3) as DirectoryDescriptor, fds.peek(10) as DirectoryDescriptor]),
  };

  const listing = (): string[] => {
    const out: string[] = [];
    walk(tmpfs, '', out);
    walk(ro, '/ro/', out);
    return out;
  };
  Object.assign(world, {
    ctx, memory, tmpfs, net, sink, stdin,
    preview1: createPreview1(ctx),
    wasix: createWasix(ctx) as Imports,
    wasi: wasiThreadsFunctions(ctx.threads) as Imports,
    listing,
    snapshot(): string {
      const table = fds.numbers().map((n) => {
        const d = fds.peek(n)!;
        const pos = d instanceof FileDescriptor ? ` @${d.tell()}` : '';
        return `${n}:${d.constructor.name}:${d.fdflags}:${d.rightsBase}:${d.rightsInheriting}${pos}`;
      });
      return [
        `fds ${fds.size} ${table.join(' ')}`,
        `tmpfs ${listing().join(' | ')}`,
        `stdin ${stdin.pos} out ${sink.written.join('/')}`,
        `net ${net.snapshot()}`,
      ].join('\n');
    },
  });
  return world;
}

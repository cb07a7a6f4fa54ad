// Host directories and files as the virtual filesystem's backend.
//
// Node has no openat(), so every operation names its parent through the
// parent's open descriptor: "/proc/self/fd/<dirfd>/<name>". The kernel walks
// that path from the directory actually held, never from a path string, so a
// directory renamed or swapped for a symlink by someone else cannot redirect
// the guest out of its mount. Final components are never followed
// (O_NOFOLLOW, lstat, lutimes, link() and rename() do not follow).

import fs from 'node:fs';
import { Denial, Errno, SysError } from '../core/errno.js';
import { Filetype } from '../core/witx.js';
import type { DirEntry, DirNode, DirStream, FileNode, NodeStat, OpenFileOptions, TimeSpec } from '../layer/fs/backend.js';
import { STREAM_BUFFER_ENTRIES } from '../layer/fs/listing.js';
import { errnoOf, hostCall } from '../core/host-errno.js';
import { ExactTimes } from './exact-times.js';

const C = fs.constants;

function via(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

function filetypeOf(s: fs.BigIntStats | fs.Dirent): number {
  if (s.isFile()) return Filetype.REGULAR_FILE;
  if (s.isDirectory()) return Filetype.DIRECTORY;
  if (s.isSymbolicLink()) return Filetype.SYMBOLIC_LINK;
  if (s.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
  if (s.isBlockDevice()) return Filetype.BLOCK_DEVICE;
  if (s.isSocket()) return Filetype.SOCKET_STREAM;
  return Filetype.UNKNOWN;
}

function toNodeStat(s: fs.BigIntStats): NodeStat {
  return {
    dev: s.dev, ino: s.ino, filetype: filetypeOf(s), nlink: s.nlink, size: s.size,
    atim: s.atimeNs, mtim: s.mtimeNs, ctim: s.ctimeNs,
  };
}

function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/** Node takes seconds as a double; the exact value is kept by ExactTimes. */
function seconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

/** State shared by every node of one mount. */
class HostStore {
  readonly times = new ExactTimes();
  constructor(readonly readOnly: boolean, private readonly label: string) {}

  private readOnlyDenial(): Denial {
    return new Denial(Errno.ROFS, 'deny', `mount ${this.label} is read-only (a mount without :ro would allow it)`);
  }

  /** Sets times through `apply`, keeping unchanged fields and exact nanoseconds. */
  setTimes(rawStat: () => fs.BigIntStats, apply: (a: number, m: number) => void, atim: TimeSpec, mtim: TimeSpec): void {
    if (this.readOnly) throw this.readOnlyDenial();
    const before = this.times.apply(toNodeStat(rawStat()));
    const now = nowNs();
    const a = atim === null ? before.atim : atim === 'now' ? now : atim;
    const m = mtim === null ? before.mtim : mtim === 'now' ? now : mtim;
    apply(seconds(a), seconds(m));
    this.times.remember(toNodeStat(rawStat()), a, m);
  }

  stat(raw: fs.BigIntStats): NodeStat {
    return this.times.apply(toNodeStat(raw));
  }

  writable(): void {
    if (this.readOnly) throw this.readOnlyDenial();
  }
}

export class HostDir implements DirNode {
  private closed = false;

  private constructor(private readonly fd: number, private readonly store: HostStore) {}

  /** Opens a mount's root directory (the one place a host path string is used). */
  static openRoot(hostPath: string, readOnly: boolean, label = hostPath): HostDir {
    const fd = fs.openSync(hostPath, C.O_RDONLY | C.O_DIRECTORY);
    return new HostDir(fd, new HostStore(readOnly, label));
  }

  get readOnly(): boolean {
    return this.store.readOnly;
  }

  stat(): NodeStat {
    return hostCall(() => this.store.stat(fs.fstatSync(this.fd, { bigint: true })));
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    hostCall(() => this.store.setTimes(() => fs.fstatSync(this.fd, { bigint: true }),
      (a, m) => fs.futimesSync(this.fd, a, m), atim, mtim));
  }

  sync(): void {
    hostCall(() => fs.fsyncSync(this.fd));
  }

  list(): DirStream {
    return hostCall(() => new HostDirStream(this.fd));
  }

  statChild(name: string): NodeStat {
    return hostCall(() => this.store.stat(fs.lstatSync(via(this.fd, name), { bigint: true })));
  }

  reopen(): DirNode {
    return hostCall(() => new HostDir(fs.openSync(via(this.fd), C.O_RDONLY | C.O_DIRECTORY), this.store));
  }

  openDir(name: string): DirNode {
    return hostCall(() => {
      const fd = fs.openSync(via(this.fd, name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      return new HostDir(fd, this.store);
    });
  }

  openFile(name: string, o: OpenFileOptions): FileNode {
    if (o.write || o.truncate || o.create) this.store.writable();
    return hostCall(() => {
      let flags = (o.write ? (o.read ? C.O_RDWR : C.O_WRONLY) : C.O_RDONLY) | C.O_NOFOLLOW | C.O_NONBLOCK;
      if (o.create) flags |= C.O_CREAT;
      if (o.exclusive) flags |= C.O_EXCL;
      if (o.truncate) flags |= C.O_TRUNC;
      const fd = fs.openSync(via(this.fd, name), flags, 0o666);
      const s = fs.fstatSync(fd);
      if (s.isDirectory()) {
        fs.closeSync(fd);
        throw new SysError(Errno.ISDIR);
      }
      return new HostFile(fd, this.store);
    });
  }

  readlink(name: string): string {
    return hostCall(() => fs.readlinkSync(via(this.fd, name), 'utf8'));
  }

  mkdir(name: string): void {
    this.store.writable();
    hostCall(() => fs.mkdirSync(via(this.fd, name), 0o777));
  }

  rmdir(name: string): void {
    this.store.writable();
    hostCall(() => fs.rmdirSync(via(this.fd, name)));
  }

  unlink(name: string): void {
    this.store.writable();
    hostCall(() => fs.unlinkSync(via(this.fd, name)));
  }

  symlink(target: string, name: string): void {
    this.store.writable();
    hostCall(() => fs.symlinkSync(target, via(this.fd, name)));
  }

  link(name: string, target: DirNode, targetName: string): void {
    this.store.writable();
    const t = this.peer(target);
    t.store.writable();
    hostCall(() => fs.linkSync(via(this.fd, name), via(t.fd, targetName)));
  }

  rename(name: string, target: DirNode, targetName: string): void {
    this.store.writable();
    const t = this.peer(target);
    t.store.writable();
    hostCall(() => fs.renameSync(via(this.fd, name), via(t.fd, targetName)));
  }

  setTimesChild(name: string, atim: TimeSpec, mtim: TimeSpec): void {
    const p = via(this.fd, name);
    hostCall(() => this.store.setTimes(() => fs.lstatSync(p, { bigint: true }),
      (a, m) => fs.lutimesSync(p, a, m), atim, mtim));
  }

  sameStore(other: DirNode): boolean {
    return other instanceof HostDir && other.store === this.store;
  }

  /** Links and renames stay within one mount: across mounts they could carry a read-only file into a writable one. */
  private peer(other: DirNode): HostDir {
    if (!(other instanceof HostDir) || other.store !== this.store) throw new SysError(Errno.XDEV);
    return other;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already gone; nothing to release
    }
  }
}

/** A host directory read through its own open stream (opendir(3)), a small buffer at a time. */
class HostDirStream implements DirStream {
  private readonly dir: fs.Dir;
  private closed = false;

  constructor(private readonly fd: number) {
    // Opened through the directory held, so a rename on the host cannot swap what is listed.
    this.dir = fs.opendirSync(via(fd), { bufferSize: STREAM_BUFFER_ENTRIES });
  }

  next(): DirEntry | undefined {
    return hostCall(() => {
      const d = this.dir.readSync();
      if (d === null) return undefined;
      let ino = 0n;
      try {
        ino = fs.lstatSync(via(this.fd, d.name), { bigint: true }).ino;
      } catch {
        // Removed since it was read: listed anyway, as readdir(3) would.
      }
      return { name: d.name, filetype: filetypeOf(d), ino };
    });
  }

  skip(): boolean {
    return hostCall(() => this.dir.readSync() !== null);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.dir.closeSync();
    } catch {
      // already gone
    }
  }
}

export class HostFile implements FileNode {
  private closed = false;

  constructor(private readonly fd: number, private readonly store: HostStore) {}

  get readOnly(): boolean {
    return this.store.readOnly;
  }

  get hostFd(): number {
    return this.fd;
  }

  read(buf: Uint8Array, position: number): number {
    return hostCall(() => fs.readSync(this.fd, buf, 0, buf.byteLength, position));
  }

  write(buf: Uint8Array, position: number): number {
    return hostCall(() => fs.writeSync(this.fd, buf, 0, buf.byteLength, position));
  }

  readInto(dst: Uint8Array, offset: number, len: number, position: number): number {
    try {
      return fs.readSync(this.fd, dst, offset, len, position);
    } catch (err) {
      throw new SysError(errnoOf(err), (err as Error)?.message);
    }
  }

  writeFrom(src: Uint8Array, offset: number, len: number, position: number): number {
    // No closure per call: this is the path of every uncached guest write.
    try {
      return fs.writeSync(this.fd, src, offset, len, position);
    } catch (err) {
      throw new SysError(errnoOf(err), (err as Error)?.message);
    }
  }

  stat(): NodeStat {
    return hostCall(() => this.store.stat(fs.fstatSync(this.fd, { bigint: true })));
  }

  setSize(size: number): void {
    this.store.writable();
    hostCall(() => fs.ftruncateSync(this.fd, size));
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    hostCall(() => this.store.setTimes(() => fs.fstatSync(this.fd, { bigint: true }),
      (a, m) => fs.futimesSync(this.fd, a, m), atim, mtim));
  }

  allocate(offset: number, len: number): void {
    this.store.writable();
    // No fallocate in Node: growing the file to cover the range has the same visible effect.
    hostCall(() => {
      const size = fs.fstatSync(this.fd).size;
      if (offset + len > size) fs.ftruncateSync(this.fd, offset + len);
    });
  }

  sync(): void {
    hostCall(() => fs.fsyncSync(this.fd));
  }

  datasync(): void {
    hostCall(() => fs.fdatasyncSync(this.fd));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already gone
    }
  }
}

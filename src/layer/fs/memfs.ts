// An in-memory mount (--tmpfs GUEST[:SIZE]): directories, files, symlinks
// and hard links held in the enclave's own memory, bounded by a size
// (ENOSPC past it), gone when the guest ends. It implements the same backend
// contract as host directories, so path resolution and every check are the
// same code.
//
// Everything the store holds is charged to its size before it is taken:
// file bytes (the backing arrays, not just the file sizes), every inode and
// every directory entry. An inode is paid for until its last link and its
// last open handle are both gone, as a kernel keeps an unlinked file that is
// still open.

import { Denial, Errno, SysError } from '../../core/errno.js';
import { Filetype } from '../../core/witx.js';
import { formatSize } from '../../core/units.js';
import type { DirNode, DirStream, FileNode, NodeStat, OpenFileOptions, TimeSpec } from './backend.js';

/** Bytes charged per inode (the object, its times): empty files and directories count too. */
const INODE_COST = 512;
/** Bytes charged per directory entry besides its name (the map slot): hard links count too. */
const ENTRY_COST = 128;

/** What a directory entry named `name` costs (names are held as UTF-16, two bytes a unit at worst). */
function entryCost(name: string): number {
  return ENTRY_COST + 2 * name.length;
}

function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

interface Inode {
  ino: bigint;
  type: 'file' | 'dir' | 'symlink';
  nlink: number;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
  data?: Uint8Array;
  size?: number;
  entries?: Map<string, Inode>;
  target?: string;
  /** A directory removed while someone still holds it: nothing can be created in it. */
  removed?: boolean;
  /** Handles (open files, held directories) on this inode; it is paid for until these and nlink are 0. */
  opens: number;
}

class MemStore {
  private nextIno = 1n;
  used = 0;
  readonly dev = BigInt(0x746d70); // "tmp"

  constructor(readonly capacity: number, private readonly label: string) {}

  charge(bytes: number): void {
    if (bytes > 0 && this.used + bytes > this.capacity) {
      throw new Denial(Errno.NOSPC, 'limit', `in-memory mount ${this.label} is full: its size is ${formatSize(this.capacity)} (--tmpfs ${this.label}:SIZE)`, this.label);
    }
    this.used += bytes;
  }

  /** Bytes still free. */
  get room(): number {
    return this.capacity - this.used;
  }

  /** A new inode; the caller has paid INODE_COST (and the target's bytes, for a symlink). */
  inode(type: Inode['type'], target?: string): Inode {
    const t = nowNs();
    const node: Inode = { ino: this.nextIno++, type, nlink: type === 'dir' ? 2 : 1, atim: t, mtim: t, ctim: t, opens: 0 };
    if (type === 'dir') node.entries = new Map();
    if (type === 'file') { node.data = new Uint8Array(0); node.size = 0; }
    if (type === 'symlink') node.target = target;
    return node;
  }

  /** Gives an inode's storage back once no link and no open handle is left. */
  release(node: Inode): void {
    if (node.nlink > 0 || node.opens > 0) return;
    this.used -= INODE_COST + (node.data?.byteLength ?? 0) + 2 * (node.target?.length ?? 0);
    // Dropped at once, not when the last handle object is collected.
    if (node.data) node.data = new Uint8Array(0);
  }
}

function statOf(store: MemStore, n: Inode): NodeStat {
  const filetype = n.type === 'dir' ? Filetype.DIRECTORY : n.type === 'file' ? Filetype.REGULAR_FILE : Filetype.SYMBOLIC_LINK;
  const size = n.type === 'file' ? BigInt(n.size!) : n.type === 'symlink' ? BigInt(n.target!.length) : 4096n;
  return { dev: store.dev, ino: n.ino, filetype, nlink: BigInt(n.nlink), size, atim: n.atim, mtim: n.mtim, ctim: n.ctim };
}

function setTimesOf(n: Inode, atim: TimeSpec, mtim: TimeSpec): void {
  const t = nowNs();
  if (atim !== null) n.atim = atim === 'now' ? t : atim;
  if (mtim !== null) n.mtim = mtim === 'now' ? t : mtim;
  n.ctim = t;
}

export class MemDir implements DirNode {
  readonly readOnly = false;
  private closed = false;

  private constructor(private readonly node: Inode, private readonly store: MemStore) {
    node.opens++;
  }

  /** A new, empty mount of `capacity` bytes, named `label` (its guest path) in refusals. */
  static create(capacity: number, label: string): MemDir {
    const store = new MemStore(capacity, label);
    store.charge(INODE_COST);
    return new MemDir(store.inode('dir'), store);
  }

  private child(name: string): Inode {
    const c = this.node.entries!.get(name);
    if (!c) throw new SysError(Errno.NOENT);
    return c;
  }

  private touch(): void {
    this.node.mtim = this.node.ctim = nowNs();
  }

  /** Adds an entry; `extra` more bytes (a new inode) are charged with it, all or nothing. */
  private insert(name: string, n: Inode, extra = 0): void {
    if (this.node.removed) throw new SysError(Errno.NOENT);
    this.store.charge(entryCost(name) + extra);
    this.node.entries!.set(name, n);
    this.touch();
  }

  private detach(name: string): Inode {
    const n = this.child(name);
    this.node.entries!.delete(name);
    this.store.used -= entryCost(name);
    this.touch();
    return n;
  }

  stat(): NodeStat { return statOf(this.store, this.node); }
  setTimes(atim: TimeSpec, mtim: TimeSpec): void { setTimesOf(this.node, atim, mtim); }
  sync(): void {}
  reopen(): DirNode { return new MemDir(this.node, this.store); }
  statChild(name: string): NodeStat { return statOf(this.store, this.child(name)); }

  list(): DirStream {
    // A Map iterator is a cursor: it survives inserts and deletes, visiting what is there when it arrives.
    const it = this.node.entries!.entries();
    return {
      next: () => {
        const r = it.next();
        if (r.done) return undefined;
        const [name, n] = r.value;
        return { name, filetype: statOf(this.store, n).filetype, ino: n.ino };
      },
      skip: () => !it.next().done,
      close: () => {},
    };
  }

  openDir(name: string): DirNode {
    const c = this.child(name);
    if (c.type !== 'dir') throw new SysError(Errno.NOTDIR);
    return new MemDir(c, this.store);
  }

  openFile(name: string, o: OpenFileOptions): FileNode {
    let c = this.node.entries!.get(name);
    if (c && o.create && o.exclusive) throw new SysError(Errno.EXIST);
    if (!c) {
      if (!o.create) throw new SysError(Errno.NOENT);
      c = this.store.inode('file');
      this.insert(name, c, INODE_COST);
    }
    if (c.type === 'dir') throw new SysError(Errno.ISDIR);
    if (c.type === 'symlink') throw new SysError(Errno.LOOP);
    const f = new MemFile(c, this.store);
    if (o.truncate) f.setSize(0);
    return f;
  }

  readlink(name: string): string {
    const c = this.child(name);
    if (c.type !== 'symlink') throw new SysError(Errno.INVAL);
    return c.target!;
  }

  mkdir(name: string): void {
    if (this.node.entries!.has(name)) throw new SysError(Errno.EXIST);
    this.insert(name, this.store.inode('dir'), INODE_COST);
    this.node.nlink++;
  }

  rmdir(name: string): void {
    const c = this.child(name);
    if (c.type !== 'dir') throw new SysError(Errno.NOTDIR);
    if (c.entries!.size > 0) throw new SysError(Errno.NOTEMPTY);
    this.detach(name);
    c.removed = true;
    c.nlink = 0;
    this.node.nlink--;
    this.store.release(c);
  }

  unlink(name: string): void {
    const c = this.child(name);
    if (c.type === 'dir') throw new SysError(Errno.ISDIR);
    this.detach(name);
    c.nlink--;
    c.ctim = nowNs();
    this.store.release(c);
  }

  symlink(target: string, name: string): void {
    if (this.node.entries!.has(name)) throw new SysError(Errno.EXIST);
    this.insert(name, this.store.inode('symlink', target), INODE_COST + 2 * target.length);
  }

  link(name: string, target: DirNode, targetName: string): void {
    const t = this.peer(target);
    const c = this.child(name);
    if (c.type === 'dir') throw new SysError(Errno.PERM);
    if (t.node.entries!.has(targetName)) throw new SysError(Errno.EXIST);
    t.insert(targetName, c);
    c.nlink++;
    c.ctim = nowNs();
  }

  rename(name: string, target: DirNode, targetName: string): void {
    const t = this.peer(target);
    const c = this.child(name);
    const existing = t.node.entries!.get(targetName);
    if (existing === c) return;
    if (c.type === 'dir') {
      // A directory cannot move below itself.
      if (t.node === c || t.isBelow(c)) throw new SysError(Errno.INVAL);
      if (existing && existing.type !== 'dir') throw new SysError(Errno.NOTDIR);
      if (existing && existing.entries!.size > 0) throw new SysError(Errno.NOTEMPTY);
    } else if (existing?.type === 'dir') {
      throw new SysError(Errno.ISDIR);
    }
    // Refused before anything has moved: a full store, a removed target directory.
    if (entryCost(targetName) > this.store.room + entryCost(name)) throw new SysError(Errno.NOSPC);
    if (t.node.removed) throw new SysError(Errno.NOENT);
    if (existing) (existing.type === 'dir' ? t.rmdir(targetName) : t.unlink(targetName));
    this.detach(name);
    t.insert(targetName, c);
    if (c.type === 'dir' && t.node !== this.node) { this.node.nlink--; t.node.nlink++; }
    c.ctim = nowNs();
  }

  /** True if this directory lies somewhere below `dir`. */
  private isBelow(dir: Inode): boolean {
    const walk = (d: Inode): boolean => {
      for (const e of d.entries!.values()) {
        if (e === this.node) return true;
        if (e.type === 'dir' && walk(e)) return true;
      }
      return false;
    };
    return walk(dir);
  }

  setTimesChild(name: string, atim: TimeSpec, mtim: TimeSpec): void {
    setTimesOf(this.child(name), atim, mtim);
  }

  sameStore(other: DirNode): boolean {
    return other instanceof MemDir && other.store === this.store;
  }

  private peer(other: DirNode): MemDir {
    if (!(other instanceof MemDir) || other.store !== this.store) throw new SysError(Errno.XDEV);
    return other;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.node.opens--;
    this.store.release(this.node);
  }
}

class MemFile implements FileNode {
  readonly readOnly = false;
  private closed = false;

  constructor(private readonly node: Inode, private readonly store: MemStore) {
    node.opens++;
  }

  read(buf: Uint8Array, position: number): number {
    const size = this.node.size!;
    if (position >= size) return 0;
    const n = Math.min(buf.byteLength, size - position);
    buf.set(this.node.data!.subarray(position, position + n));
    this.node.atim = nowNs();
    return n;
  }

  /** Grows the backing array (charged to the store) to hold `size` bytes, with some headroom. */
  private reserve(size: number): void {
    const data = this.node.data!;
    if (size <= data.byteLength) return;
    const want = Math.min(data.byteLength * 2, size + (1 << 20));
    // Headroom only out of half the room left, so that one growing file cannot take the others' space.
    const spare = Math.floor(Math.max(0, this.store.room - (size - data.byteLength)) / 2);
    this.resize(Math.max(size, Math.min(want, size + spare)));
  }

  /** Replaces the backing array by one of `length` bytes, charging or giving back the difference. */
  private resize(length: number): void {
    const data = this.node.data!;
    this.store.charge(length - data.byteLength);
    const next = new Uint8Array(length);
    next.set(data.subarray(0, Math.min(this.node.size!, length)));
    this.node.data = next;
  }

  write(buf: Uint8Array, position: number): number {
    const end = position + buf.byteLength;
    this.reserve(end);
    if (position > this.node.size!) this.node.data!.fill(0, this.node.size!, position);
    this.node.data!.set(buf, position);
    this.node.size = Math.max(this.node.size!, end);
    this.node.mtim = this.node.ctim = nowNs();
    return buf.byteLength;
  }

  stat(): NodeStat { return statOf(this.store, this.node); }

  setSize(size: number): void {
    if (size > this.node.size!) {
      this.reserve(size);
      this.node.data!.fill(0, this.node.size!, size);
    } else if (size < this.node.data!.byteLength / 2) {
      // Shrinking gives the space back (a copy, so only when it frees at least half).
      this.resize(size);
    }
    this.node.size = size;
    this.node.mtim = this.node.ctim = nowNs();
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void { setTimesOf(this.node, atim, mtim); }

  allocate(offset: number, len: number): void {
    if (offset + len > this.node.size!) this.setSize(offset + len);
  }

  sync(): void {}
  datasync(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.node.opens--;
    this.store.release(this.node);
  }
}

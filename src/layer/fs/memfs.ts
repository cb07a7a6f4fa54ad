// An in-memory mount (--tmpfs GUEST[:SIZE]): directories, files, symlinks
// and hard links held in the enclave's own memory, bounded by a size
// (ENOSPC past it), gone when the guest ends. It implements the same backend
// contract as host directories, so path resolution and every check are the
// same code.

import { Errno, SysError } from '../../abi/errno.js';
import { Filetype } from '../../abi/witx.js';
import type { DirEntry, DirNode, FileNode, NodeStat, OpenFileOptions, TimeSpec } from './backend.js';

/** Bytes charged per inode and per directory entry, so empty files and names count too. */
const INODE_COST = 256;

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
}

class MemStore {
  private nextIno = 1n;
  used = 0;
  readonly dev = BigInt(0x746d70); // "tmp"

  constructor(readonly capacity: number) {}

  charge(bytes: number): void {
    if (bytes > 0 && this.used + bytes > this.capacity) throw new SysError(Errno.NOSPC);
    this.used += bytes;
  }

  inode(type: Inode['type']): Inode {
    this.charge(INODE_COST);
    const t = nowNs();
    const node: Inode = { ino: this.nextIno++, type, nlink: type === 'dir' ? 2 : 1, atim: t, mtim: t, ctim: t };
    if (type === 'dir') node.entries = new Map();
    if (type === 'file') { node.data = new Uint8Array(0); node.size = 0; }
    return node;
  }

  /** Releases an inode's storage once nothing links to it. */
  release(node: Inode): void {
    if (node.nlink > 0) return;
    this.used -= INODE_COST + (node.data?.byteLength ?? 0) + (node.target?.length ?? 0);
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

  private constructor(private readonly node: Inode, private readonly store: MemStore) {}

  static create(capacity: number): MemDir {
    const store = new MemStore(capacity);
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

  private insert(name: string, n: Inode): void {
    if (this.node.removed) throw new SysError(Errno.NOENT);
    this.store.charge(name.length);
    this.node.entries!.set(name, n);
    this.touch();
  }

  private detach(name: string): Inode {
    const n = this.child(name);
    this.node.entries!.delete(name);
    this.store.used -= name.length;
    this.touch();
    return n;
  }

  stat(): NodeStat { return statOf(this.store, this.node); }
  setTimes(atim: TimeSpec, mtim: TimeSpec): void { setTimesOf(this.node, atim, mtim); }
  sync(): void {}
  reopen(): DirNode { return new MemDir(this.node, this.store); }
  statChild(name: string): NodeStat { return statOf(this.store, this.child(name)); }

  entries(): DirEntry[] {
    return [...this.node.entries!].map(([name, n]) => ({ name, filetype: statOf(this.store, n).filetype, ino: n.ino }));
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
      this.insert(name, c);
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
    this.insert(name, this.store.inode('dir'));
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
    const n = this.store.inode('symlink');
    this.store.charge(target.length);
    n.target = target;
    this.insert(name, n);
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

  close(): void {}
}

class MemFile implements FileNode {
  readonly readOnly = false;

  constructor(private readonly node: Inode, private readonly store: MemStore) {}

  read(buf: Uint8Array, position: number): number {
    const size = this.node.size!;
    if (position >= size) return 0;
    const n = Math.min(buf.byteLength, size - position);
    buf.set(this.node.data!.subarray(position, position + n));
    this.node.atim = nowNs();
    return n;
  }

  /** Grows the backing array (charged to the store) to hold `size` bytes. */
  private reserve(size: number): void {
    const data = this.node.data!;
    if (size <= data.byteLength) return;
    const grown = Math.max(size, Math.min(data.byteLength * 2, size + (1 << 20)));
    this.store.charge(grown - data.byteLength);
    const next = new Uint8Array(grown);
    next.set(data.subarray(0, this.node.size!));
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
  close(): void {}
}

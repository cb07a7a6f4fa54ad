// An open directory and the path operations made relative to it. Each
// operation resolves its path with resolve() (never leaving this directory)
// and then acts on one name in the directory the walk ended in.

import { Denial, Errno, SysError } from '../../core/errno.js';
import { encodeUtf8 } from '../../core/utf8.js';
import { DIRECTORY_RIGHTS, FILE_RIGHTS, Filetype, OFlags, Rights, WRITE_INTENT } from '../../core/witx.js';
import { Descriptor } from '../descriptor.js';
import type { DirEntry, DirNode, NodeStat, TimeSpec } from './backend.js';
import { FileDescriptor } from './file.js';
import type { WriteCache } from './write-cache.js';
import type { MountQuota } from './quota.js';
import { escapeReason } from './escape-hint.js';
import { Listing, type Listings } from './listing.js';
import { PATH_MAX, resolve, type Resolved } from './resolve.js';

export interface OpenRequest {
  follow: boolean;
  oflags: number;
  rightsBase: number;
  rightsInheriting: number;
  fdflags: number;
}

/** Bytes moved through files opened below a mount, for usage reports; and the mount's quota, where it has one. */
export interface IoCounters {
  read: number;
  written: number;
  quota?: MountQuota;
}

/**
 * Runs `create`, which may make `name` in `dir`, with one entry of `quota`
 * charged for it (EDQUOT past the quota); nothing is charged when the name
 * exists already (the call opens it or fails), and a failed creation gives
 * the entry back.
 */
function creating<T>(quota: MountQuota | undefined, dir: DirNode, name: string, target: string, create: () => T): T {
  if (quota === undefined || exists(dir, name)) return create();
  quota.takeEntry(target);
  try {
    return create();
  } catch (err) {
    quota.returnEntry();
    throw err;
  }
}

/** True if `name` exists in `dir` (as anything, a symlink included). */
function exists(dir: DirNode, name: string): boolean {
  try {
    dir.statChild(name);
    return true;
  } catch {
    return false;
  }
}



function withResolved<T>(r: Resolved, fn: (r: Resolved) => T): T {
  try {
    return fn(r);
  } finally {
    r.release();
  }
}

/** `p` with `.`, `..` and repeated slashes folded away, lexically (for messages only). */
function lexical(p: string): string {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return `/${out.join('/')}`;
}

/** The guest path `path` names from directory `dir` (for messages; the walk never uses it). */
function joinGuest(dir: string | undefined, path: string): string {
  if (dir === undefined || path.startsWith('/')) return path;
  return `${dir.replace(/\/+$/, '')}/${path}`;
}

export class DirectoryDescriptor extends Descriptor {
  readonly filetype = Filetype.DIRECTORY;
  /** Where fd_readdir is in this directory, made on its first call. */
  private listing: Listing | undefined;

  constructor(
    readonly node: DirNode,
    rightsBase: number,
    rightsInheriting: number,
    /** Guest path this directory was preopened as; undefined for directories opened later. */
    readonly preopenName: string | undefined,
    readonly counters: IoCounters,
    /** The enclave's directory streams, shared by every directory descriptor it opens. */
    readonly listings: Listings,
    /** The enclave's slot for coalesced small writes, when the layer has the write cache on. */
    readonly writeCache?: WriteCache,
  ) {
    super(rightsBase, rightsInheriting);
    this.guestPath = preopenName;
    this.mount = preopenName;
  }

  /** Runs a path operation; a denial from deep inside learns which guest path it was about. */
  private about<T>(path: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof Denial) {
        const guest = joinGuest(this.guestPath, path);
        err.target = err.target === undefined ? guest : err.target.replace(path, guest);
        // Say which grant would have allowed it (a mount of the directory the path means), unless that is a system directory.
        if (err.errno === Errno.NOTCAPABLE && err.reason.startsWith('the path leads outside') && guest.startsWith('/')) {
          err.reason = escapeReason(lexical(guest).replace(/\/[^/]*$/, '') || '/');
        }
      }
      throw err;
    }
  }

  override stat(): NodeStat {
    return this.node.stat();
  }

  override setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    this.node.setTimes(atim, mtim);
  }

  override sync(): void {
    this.node.sync();
  }

  override datasync(): void {
    this.node.sync();
  }

  override advise(): void {
    throw new SysError(Errno.BADF);
  }

  override allocate(): void {
    throw new SysError(Errno.BADF);
  }

  /** The entry fd_readdir gives at `cookie` (".", "..", then the directory's own), or undefined past the end. */
  entryAt(cookie: bigint): DirEntry | undefined {
    this.listing ??= new Listing(this.node, this.listings);
    return this.listing.at(cookie);
  }

  override close(): void {
    this.listing?.close();
    this.node.close();
  }

  private resolve(path: string, follow: boolean): Resolved {
    return resolve(this.node, path, follow);
  }

  open(path: string, req: OpenRequest): Descriptor {
    return this.about(path, () => {
      return withResolved(this.resolve(path, req.follow), (r) => {
        const wantsDir = (req.oflags & OFlags.DIRECTORY) !== 0 || r.mustBeDir;
        // The host open mode follows the rights granted (never more than this directory passes on).
        const granted = req.rightsBase & this.rightsInheriting;
        const write = (granted & WRITE_INTENT) !== 0 || (req.oflags & OFlags.TRUNC) !== 0;
        const read = (granted & (Rights.FD_READ | Rights.FD_READDIR)) !== 0 || !write;
        const inheriting = req.rightsInheriting & this.rightsInheriting;
  
        // What is opened below a directory inherits where it lies (for audit records and read-only refusals).
        const inherit = <D extends Descriptor>(d: D): D => {
          d.guestPath = joinGuest(this.guestPath, path);
          d.readOnlyMount = this.readOnlyMount;
          d.mount = this.mount;
          d.openedWith = { oflags: req.oflags, follow: req.follow };
          return d;
        };
        const openDirectory = (node: DirNode): Descriptor => {
          if (write) { node.close(); throw new SysError(Errno.ISDIR); }
          return inherit(new DirectoryDescriptor(node,
            req.rightsBase & this.rightsInheriting & DIRECTORY_RIGHTS, inheriting, undefined, this.counters, this.listings, this.writeCache));
        };
  
        if (r.name === '.') {
          if (req.oflags & OFlags.CREAT && req.oflags & OFlags.EXCL) throw new SysError(Errno.EXIST);
          if (req.oflags & OFlags.TRUNC) throw new SysError(Errno.ISDIR);
          return openDirectory(r.dir.reopen());
        }
        if (wantsDir) {
          if (req.oflags & OFlags.CREAT) throw new SysError(Errno.INVAL);
          try {
            return openDirectory(r.dir.openDir(r.name));
          } catch (err) {
            // A symlink met without following: POSIX's O_NOFOLLOW says ELOOP.
            if (err instanceof SysError && err.errno === Errno.NOTDIR &&
                r.dir.statChild(r.name).filetype === Filetype.SYMBOLIC_LINK) {
              throw new SysError(Errno.LOOP);
            }
            throw err;
          }
        }
        try {
          // A new file takes an entry of the mount's quota; opening one that exists takes none.
          const quota = (req.oflags & OFlags.CREAT) !== 0 ? this.counters.quota : undefined;
          const node = creating(quota, r.dir, r.name, path, () => r.dir.openFile(r.name, {
            read, write,
            create: (req.oflags & OFlags.CREAT) !== 0,
            exclusive: (req.oflags & OFlags.EXCL) !== 0,
            truncate: (req.oflags & OFlags.TRUNC) !== 0,
          }));
          return inherit(new FileDescriptor(node, req.rightsBase & this.rightsInheriting & FILE_RIGHTS,
            inheriting, req.fdflags, this.counters, this.writeCache));
        } catch (err) {
          if (err instanceof SysError && err.errno === Errno.ISDIR && !(req.oflags & OFlags.CREAT && req.oflags & OFlags.EXCL)) {
            return openDirectory(r.dir.openDir(r.name));
          }
          throw err;
        }
      });
    });
  }

  createDirectory(path: string): void {
    return this.about(path, () => {
      withResolved(this.resolve(path, false), (r) => {
        if (r.name === '.') throw new SysError(Errno.EXIST);
        creating(this.counters.quota, r.dir, r.name, path, () => r.dir.mkdir(r.name));
      });
    });
  }

  removeDirectory(path: string): void {
    return this.about(path, () => {
      withResolved(this.resolve(path, false), (r) => {
        if (r.name === '.') throw new SysError(Errno.INVAL);
        r.dir.rmdir(r.name);
      });
    });
  }

  unlinkFile(path: string): void {
    return this.about(path, () => {
      withResolved(this.resolve(path, false), (r) => {
        if (r.name === '.') throw new SysError(Errno.ISDIR);
        if (r.mustBeDir) {
          const type = r.dir.statChild(r.name).filetype;
          throw new SysError(type === Filetype.DIRECTORY ? Errno.ISDIR : Errno.NOTDIR);
        }
        r.dir.unlink(r.name);
      });
    });
  }

  symlink(target: string, path: string): void {
    return this.about(path, () => {
      if (target === '') throw new SysError(Errno.NOENT);
      if (target.includes('\0')) throw new SysError(Errno.INVAL);
      if (encodeUtf8(target).byteLength > PATH_MAX) throw new SysError(Errno.NAMETOOLONG);
      // An absolute target could only ever point outside the mount (and could
      // mislead host programs that later follow it), so it is never created.
      if (target.startsWith('/')) {
      throw new Denial(Errno.NOTCAPABLE, 'deny', 'absolute symlink targets are refused (they could only lead outside the mount)', `${path} -> ${target}`);
    }
      withResolved(this.resolve(path, false), (r) => {
        if (r.name === '.') throw new SysError(Errno.EXIST);
        if (r.mustBeDir) {
          // POSIX: the new name may not end in "/"; say why it cannot be made.
          let type: number;
          try {
            type = r.dir.statChild(r.name).filetype;
          } catch {
            throw new SysError(Errno.NOENT);
          }
          throw new SysError(type === Filetype.DIRECTORY ? Errno.EXIST : Errno.NOTDIR);
        }
        creating(this.counters.quota, r.dir, r.name, path, () => r.dir.symlink(target, r.name));
      });
    });
  }

  readlink(path: string): string {
    return this.about(path, () => {
      return withResolved(this.resolve(path, false), (r) => {
        if (r.name === '.') throw new SysError(Errno.INVAL);
        return r.dir.readlink(r.name);
      });
    });
  }

  filestat(path: string, follow: boolean): NodeStat {
    return this.about(path, () => {
      return withResolved(this.resolve(path, follow), (r) => {
        const s = r.name === '.' ? r.dir.stat() : r.dir.statChild(r.name);
        if (r.mustBeDir && s.filetype !== Filetype.DIRECTORY) throw new SysError(Errno.NOTDIR);
        return s;
      });
    });
  }

  setTimesAt(path: string, follow: boolean, atim: TimeSpec, mtim: TimeSpec): void {
    return this.about(path, () => {
      withResolved(this.resolve(path, follow), (r) => {
        if (r.name === '.') r.dir.setTimes(atim, mtim);
        else r.dir.setTimesChild(r.name, atim, mtim);
      });
    });
  }

  /** Checks a source/target pair for rename and link: trailing slashes only on directories. */
  private static checkSlash(r: Resolved): void {
    if (r.mustBeDir && r.dir.statChild(r.name).filetype !== Filetype.DIRECTORY) {
      throw new SysError(Errno.NOTDIR);
    }
  }

  rename(path: string, target: DirectoryDescriptor, targetPath: string): void {
    return this.about(path, () => {
      withResolved(this.resolve(path, false), (src) => {
        withResolved(target.resolve(targetPath, false), (dst) => {
          if (src.name === '.' || dst.name === '.') throw new SysError(Errno.BUSY);
          DirectoryDescriptor.checkSlash(src);
          if (dst.mustBeDir) {
            // "b/" is fine as a target only when the source is a directory.
            if (src.dir.statChild(src.name).filetype !== Filetype.DIRECTORY) throw new SysError(Errno.NOTDIR);
          }
          src.dir.rename(src.name, dst.dir, dst.name);
        });
      });
    });
  }

  link(path: string, follow: boolean, target: DirectoryDescriptor, targetPath: string): void {
    return this.about(path, () => {
      withResolved(this.resolve(path, follow), (src) => {
        withResolved(target.resolve(targetPath, false), (dst) => {
          if (src.name === '.') throw new SysError(Errno.PERM);
          if (dst.name === '.') throw new SysError(Errno.EXIST);
          const type = src.dir.statChild(src.name).filetype;
          if (type === Filetype.DIRECTORY) throw new SysError(Errno.PERM);
          if (src.mustBeDir) throw new SysError(Errno.NOTDIR);
          if (dst.mustBeDir) {
            let exists = true;
            try { dst.dir.statChild(dst.name); } catch { exists = false; }
            throw new SysError(exists ? Errno.EXIST : Errno.NOENT);
          }
          creating(target.counters.quota, dst.dir, dst.name, targetPath, () => src.dir.link(src.name, dst.dir, dst.name));
        });
      });
    });
  }
}

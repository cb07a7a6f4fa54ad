// Which of a guest's descriptors travel in a snapshot, and putting them back.
// Files and directories opened below a host mount travel by guest path: at
// sealing, each is recorded with its position, flags and rights; on resume it
// is opened again by that path, under the resume's policy, at the same
// number. Everything else a guest can hold (sockets, pipes, event counters,
// epoll sets, files in a tmpfs mount, a file removed or renamed while open)
// cannot be opened again by path, and refuses the suspension in one line.

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { Denial, Errno, errnoName, SysError } from '../core/errno.js';
import { Filetype, OFlags, WRITE_INTENT, WRITE_RIGHTS, Whence } from '../core/witx.js';
import type { Descriptor } from '../layer/descriptor.js';
import { EpollDescriptor } from '../layer/epoll.js';
import { EventCounter } from '../layer/event-counter.js';
import type { FdTable } from '../layer/fdtable.js';
import { DirectoryDescriptor } from '../layer/fs/directory.js';
import { FileDescriptor } from '../layer/fs/file.js';
import { normalize } from '../layer/fs/working-directory.js';
import { PipeReadEnd, PipeWriteEnd } from '../layer/pipe.js';
import { SocketDescriptor } from '../layer/net/socket.js';
import { InputStream, OutputStream } from '../layer/stdio.js';
import type { SealedFile, SealedGuestState } from '../snapshot/payload.js';
import { cannotReopen, policyRefusal } from '../snapshot/file-grants.js';

/** The guest's own view the files travel from and to: its table, its stdio, its mounts in descriptor order (3, 4, ...). */
export interface DescriptorView {
  fds: FdTable;
  stdio: readonly Descriptor[];
  roots: readonly DirectoryDescriptor[];
  /** Per root: whether its mount is a tmpfs (whose contents do not travel). */
  tmpfs: readonly boolean[];
  /** Normal mode: the guest's sockets are the host's own. */
  normalMode?: boolean;
}

/** What of the descriptor table a snapshot carries beyond the preopened mounts. */
export interface TravellingFiles {
  files: SealedFile[];
  /** Standard streams and mount descriptors the guest had closed (closed again on resume). */
  closed: number[];
}

function kindOf(d: Descriptor): string {
  if (d instanceof PipeReadEnd || d instanceof PipeWriteEnd) return 'a pipe';
  if (d instanceof EventCounter) return 'an event counter';
  if (d instanceof EpollDescriptor) return 'an epoll set';
  if (d instanceof InputStream) return 'standard input';
  if (d instanceof OutputStream) return 'a standard output stream';
  return 'a descriptor of another kind';
}

/** `guest` (a guest path below `mount`) as a path relative to the mount's root ("." for the root itself). */
export function relativeToMount(guest: string, mount: string): string {
  const m = normalize('/', mount);
  const g = normalize('/', guest);
  if (m === '/') return g === '/' ? '.' : g.slice(1);
  if (g === m) return '.';
  return g.slice(m.length + 1);
}

/** True if `guest` lies at or below `mount` (both normalised). */
export function underMount(guest: string, mount: string): boolean {
  const m = normalize('/', mount);
  const g = normalize('/', guest);
  return m === '/' || g === m || g.startsWith(`${m}/`);
}

/**
 * Records every descriptor that travels; a string saying why the guest
 * cannot be sealed now if one does not (the first such descriptor).
 */
export function describeDescriptors(view: DescriptorView, socketsTravel = false): TravellingFiles | string {
  const { fds, stdio, roots } = view;
  const files: SealedFile[] = [];
  const closed: number[] = [];
  const first = new Map<Descriptor, number>();
  for (let fd = 0; fd < 3 + roots.length; fd++) if (fds.peek(fd) === undefined) closed.push(fd);
  for (const fd of fds.numbers()) {
    const d = fds.peek(fd)!;
    // A guest of a system: its sockets travel in the system's network record (layer/net/freeze.ts).
    if (socketsTravel && d instanceof SocketDescriptor) continue;
    const flagsExt = fds.flagsExt(fd);
    const ext = flagsExt !== 0 ? { flagsExt } : {};
    // A standard stream or a mount at its own number is made again by the resumed enclave itself.
    const own = (fd < 3 && stdio[fd] === d) || (fd >= 3 && roots[fd - 3] === d);
    if (own && flagsExt === 0) { first.set(d, fd); continue; }
    const earlier = first.get(d);
    if (earlier !== undefined) {
      // fd_dup: another number for the same open file (one position, one set of flags).
      files.push({ fd, dupOf: earlier, ...ext });
      continue;
    }
    first.set(d, fd);
    if (own) { files.push({ fd, dupOf: fd, ...ext }); continue; }
    // In secure mode the host seals a guest holding sockets with its network (api/suspend-alone.ts); one that
    // reaches here opened its first socket as the suspension began. In normal mode a socket is the host's own.
    if (d instanceof SocketDescriptor) {
      return view.normalMode ? `descriptor ${fd} is a socket: in normal mode a guest's sockets are the host's own, which do not travel in a snapshot`
        : `descriptor ${fd} is a socket opened as the suspension began: ask again`;
    }
    if (!(d instanceof FileDescriptor || d instanceof DirectoryDescriptor)) return `descriptor ${fd} is ${kindOf(d)}: it does not travel in a snapshot`;
    const mountAt = roots.findIndex((r) => r.mount === d.mount);
    if (d.mount === undefined || d.guestPath === undefined || mountAt < 0) return `descriptor ${fd} is a file whose path is not known: it does not travel in a snapshot`;
    const guest = normalize('/', d.guestPath);
    if (view.tmpfs[mountAt]) return `descriptor ${fd} is ${guest} in the tmpfs mount ${d.mount}, whose contents do not travel in a snapshot`;
    const follow = d.openedWith?.follow ?? true;
    const path = relativeToMount(guest, d.mount);
    // Reopened by path on resume: the path must still name this very file.
    let same = false;
    try {
      const now = roots[mountAt]!.filestat(path, follow);
      const was = d.stat();
      same = now.dev === was.dev && now.ino === was.ino;
    } catch { /* gone */ }
    if (!same) return `descriptor ${fd} (${guest}) was removed or renamed while open: it does not travel in a snapshot`;
    files.push({
      fd, path: guest, mount: d.mount,
      kind: d instanceof DirectoryDescriptor ? 'directory' : 'file',
      position: d instanceof FileDescriptor ? d.tell().toString() : '0',
      fdflags: d.fdflags, oflags: d.openedWith?.oflags ?? 0, follow,
      rightsBase: d.rightsBase.toString(), rightsInheriting: d.rightsInheriting.toString(),
      ...ext,
    });
  }
  return { files, closed };
}

/**
 * At sealing: every coalesced write written out, each file open for writing
 * synced, so the files a snapshot reopens hold all the guest wrote before it;
 * then what travels. Throws if a write-out failed (the snapshot is not made).
 */
export function settleFiles(view: DescriptorView, flushWrites: (() => void) | undefined, socketsTravel = false): TravellingFiles {
  flushWrites?.();
  const files = describeDescriptors(view, socketsTravel);
  if (typeof files === 'string') throw new Error(files);
  for (const f of files.files) {
    if (f.dupOf !== undefined || f.kind !== 'file' || (Number(f.rightsBase) & WRITE_INTENT) === 0) continue;
    try {
      view.fds.peek(f.fd)!.datasync();
    } catch (err) {
      throw new Error(`writing out ${f.path} failed (${err instanceof SysError ? `E${errnoName(err.errno)}` : (err as Error).message})`);
    }
  }
  return files;
}

const mismatch = (message: string): CapsuleError => new CapsuleError(ExitCode.SNAPSHOT_MISMATCH, message);

/** Why an open failed, for the one line that refuses the resume. */
function openFailure(err: unknown): string {
  if (err instanceof Denial) return `the resume's policy does not grant (${err.reason})`;
  if (err instanceof SysError) return err.errno === Errno.NOENT ? 'no longer exists' : `cannot be opened again (E${errnoName(err.errno)})`;
  return `cannot be opened again (${(err as Error).message})`;
}

/**
 * Opens the sealed files again at their numbers, before the guest runs; one
 * CapsuleError line (80) naming the guest path if one cannot be opened as it was.
 * Rights come back as they were, except write rights a read-only mount does
 * not pass on to a file that was not open for writing.
 */
export function reopenDescriptors(view: DescriptorView, state: Pick<SealedGuestState, 'name' | 'files' | 'closed'>): void {
  const { fds, roots } = view;
  const refused = policyRefusal(state.name, state.files, roots.map((r) => ({ guest: r.mount ?? '', readOnly: r.readOnlyMount !== undefined })));
  if (refused) throw refused;
  // Opened first, placed after: a number a file takes may be one a mount or stream had (closed, then reused).
  const opened = new Map<number, Descriptor>();
  try {
    for (const f of state.files) {
      if (f.dupOf !== undefined) continue;
      const root = roots.find((r) => r.mount === f.mount)!;
      // A state record is authentic, but still checked: a path is opened only below its own mount.
      if (typeof f.path !== 'string' || !underMount(f.path, f.mount)) throw cannotReopen(state.name, f, `does not lie below its mount ${f.mount}`);
      const rightsBase = Number(f.rightsBase);
      let d: Descriptor;
      try {
        d = root.open(relativeToMount(f.path, f.mount), {
          follow: f.follow,
          // Never created, truncated or required new again: only what it must be (a directory) is asked.
          oflags: f.kind === 'directory' ? OFlags.DIRECTORY : 0,
          rightsBase, rightsInheriting: Number(f.rightsInheriting), fdflags: f.fdflags,
        });
      } catch (err) {
        throw cannotReopen(state.name, f, openFailure(err));
      }
      opened.set(f.fd, d);
      const isDir = d instanceof DirectoryDescriptor;
      if (isDir !== (f.kind === 'directory')) throw cannotReopen(state.name, f, `is now a ${isDir ? 'directory' : 'file'}`);
      // A regular file comes back as one: not a FIFO, device or socket put in its place.
      if (!isDir && d.stat().filetype !== Filetype.REGULAR_FILE) throw cannotReopen(state.name, f, 'is now not a regular file');
      if ((rightsBase & ~d.rightsBase & ~WRITE_RIGHTS) !== 0 || (rightsBase & ~d.rightsBase & WRITE_INTENT) !== 0) {
        throw cannotReopen(state.name, f, 'the resume\'s policy grants with fewer rights');
      }
      if (d instanceof FileDescriptor) {
        try {
          d.seek(BigInt(f.position), Whence.SET);
        } catch {
          throw cannotReopen(state.name, f, `cannot take its position ${String(f.position).slice(0, 32)} again`);
        }
      }
    }
    // Every number checked before any is placed: a refused resume leaves the table as it was.
    const placed = state.files.map((f) => {
      const d = f.dupOf !== undefined ? (opened.get(f.dupOf) ?? fds.peek(f.dupOf)) : opened.get(f.fd);
      if (d === undefined || !Number.isInteger(f.fd) || f.fd < 0) throw mismatch(`cannot resume ${state.name}: its descriptor ${f.fd} is not in the snapshot`);
      if (f.fd >= fds.capacity) throw mismatch(`cannot resume ${state.name}: its descriptor ${f.fd} is past the resume's descriptor limit of ${fds.capacity}`);
      return { f, d };
    });
    for (const fd of state.closed ?? []) if (fds.peek(fd) !== undefined) fds.close(fd);
    for (const { f, d } of placed) {
      if (fds.peek(f.fd) !== d) fds.set(f.fd, d);
      if (f.flagsExt !== undefined) fds.setFlagsExt(f.fd, f.flagsExt);
    }
  } catch (err) {
    // Nothing opened is left behind (the table closes what it holds when the enclave ends).
    for (const d of opened.values()) if (!fds.numbers().some((n) => fds.peek(n) === d)) d.close();
    throw err;
  }
}

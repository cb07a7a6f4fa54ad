// The contract between the virtual filesystem and whatever stores the files
// (a host directory, later an in-memory mount). Every name passed here is a
// single path component — never empty, ".", ".." or containing "/": path
// walking, `..` and symlinks are the resolver's job, so a backend cannot be
// tricked into leaving its directory. No operation follows a symlink in its
// final component.

export interface NodeStat {
  dev: bigint;
  ino: bigint;
  filetype: number;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

/** A timestamp to set: nanoseconds since the epoch, "now", or leave as is. */
export type TimeSpec = bigint | 'now' | null;

export interface OpenFileOptions {
  read: boolean;
  write: boolean;
  create: boolean;
  exclusive: boolean;
  truncate: boolean;
}

export interface DirEntry {
  name: string;
  filetype: number;
  ino: bigint;
}

/** A directory's entries, read a few at a time ("." and ".." not included); holds at most a small buffer. */
export interface DirStream {
  /** The next entry, or undefined at the end. */
  next(): DirEntry | undefined;
  /** Passes over the next entry without looking it up; false at the end. */
  skip(): boolean;
  close(): void;
}

export interface DirNode {
  /** True when nothing below this directory may be changed. */
  readonly readOnly: boolean;
  stat(): NodeStat;
  setTimes(atim: TimeSpec, mtim: TimeSpec): void;
  sync(): void;
  /** Starts reading the entries from the first; the caller closes the stream. */
  list(): DirStream;
  /** A second, independent handle on this same directory. */
  reopen(): DirNode;
  /** lstat of a child. */
  statChild(name: string): NodeStat;
  /** Opens a child directory; ENOTDIR if it is not one, ELOOP if it is a symlink. */
  openDir(name: string): DirNode;
  /** Opens (or creates) a child that is not a directory; ELOOP if it is a symlink. */
  openFile(name: string, options: OpenFileOptions): FileNode;
  readlink(name: string): string;
  mkdir(name: string): void;
  rmdir(name: string): void;
  unlink(name: string): void;
  symlink(target: string, name: string): void;
  link(name: string, target: DirNode, targetName: string): void;
  rename(name: string, target: DirNode, targetName: string): void;
  setTimesChild(name: string, atim: TimeSpec, mtim: TimeSpec): void;
  /** True if `other` is the same backend, so link/rename between them can work. */
  sameStore(other: DirNode): boolean;
  close(): void;
}

export interface FileNode {
  readonly readOnly: boolean;
  /** Reads at `position` into buf; returns bytes read (0 at end of file). */
  read(buf: Uint8Array, position: number): number;
  write(buf: Uint8Array, position: number): number;
  /** Reads up to `len` bytes into `dst` from `offset`, at `position`, with no view made per call (host files). */
  readInto?(dst: Uint8Array, offset: number, len: number, position: number): number;
  /** Writes `len` bytes of `src` from `offset` at `position`, with no view made per call (host files). */
  writeFrom?(src: Uint8Array, offset: number, len: number, position: number): number;
  /** The host descriptor behind the file, where there is one (the write cache writes to it). */
  readonly hostFd?: number;
  stat(): NodeStat;
  setSize(size: number): void;
  setTimes(atim: TimeSpec, mtim: TimeSpec): void;
  allocate(offset: number, len: number): void;
  sync(): void;
  datasync(): void;
  close(): void;
}

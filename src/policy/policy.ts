// The policy: everything a guest in secure mode is granted, as one object
// behind every way of granting (a JSON file, CLI flags, the API). Every
// default denies: no mounts, no environment, no network, and bounded
// resources. In normal mode only mounts, environment and an explicit
// timeout apply (FIG. 2: the guest talks to the host directly).

import type { NetworkPolicy } from './network.js';

/** What the guest may add below a mount while it runs (layer/fs/quota.ts). */
export interface QuotaLimits {
  /** Bytes files below the mount may grow by, in all. */
  bytes?: number;
  /** Files, directories, symlinks and hard links the guest may create below the mount. */
  entries?: number;
}

/** A host directory as the caller asks to mount it (--dir, the API's `dirs`). */
export interface DirMount {
  /** Host directory to expose. */
  host: string;
  /** Name the guest sees it under, e.g. "/data" or ".". */
  guest: string;
  /** The guest may read but change nothing below it. */
  readOnly?: boolean;
  /**
   * How much the guest may add below the mount while it runs: bytes of file
   * growth and entries (files, directories, symlinks, links) created; past
   * either a call fails with EDQUOT. Nothing deleted is given back.
   */
  quota?: QuotaLimits;
}

export interface MountGrant {
  /** Host directory; absent for an in-memory (tmpfs) mount. */
  host?: string;
  guest: string;
  readOnly: boolean;
  /** In-memory mount of at most this many bytes. */
  tmpfsBytes?: number;
  /** What the guest may add below the mount (DirMount.quota). */
  quota?: QuotaLimits;
}

export interface Limits {
  /** Linear memory, bytes. A module needing more at start does not start; growth past it fails. */
  memoryBytes: number;
  /** Wall time, ms; 0 = none. */
  timeoutMs: number;
  /** Open descriptors (files, directories, sockets, stdio). Past it: EMFILE. */
  maxFds: number;
  /** Open sockets. Past it: ENFILE. */
  maxSockets: number;
  /** Guest threads running at once, the main thread included. Past it: EAGAIN. */
  maxThreads: number;
  /** Bytes queued per socket direction. */
  queueBytes: number;
  /** Bytes a single call may make the host allocate (path strings, iovec and poll arrays, listings). */
  callBytes: number;
  /** Output bytes (stdout + stderr) kept; past it the middle is cut (head and tail kept), past twice it the guest stops. 0 = none. */
  outputBytes: number;
}

export interface Policy {
  mounts: MountGrant[];
  env: Record<string, string>;
  network: NetworkPolicy;
  limits: Limits;
  /** Coalesce small sequential file writes (see README, "Small file writes"); on unless turned off. */
  writeCache: boolean;
}

/** The defaults, each with its reason. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memoryBytes: 256 * 1024 * 1024,   // enough for most tools; a guest needing more must be granted it
  timeoutMs: 0,                      // servers run until stopped; set --timeout for jobs
  maxFds: 256,                       // well above what command-line tools use
  maxSockets: 64,
  maxThreads: 8,                     // a small pool: each guest thread is a host thread
  queueBytes: 1024 * 1024,           // per direction: throughput without unbounded buffering
  callBytes: 16 * 1024 * 1024,
  outputBytes: 1024 * 1024 * 1024,
});


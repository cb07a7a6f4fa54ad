// What the host thread and an enclave's thread say to each other. The
// enclave gets one EnclaveConfig at start and answers with one EnclaveReport;
// everything in between goes through shared memory (rings, control words).

import type { QuotaLimits } from '../layer/fs/quota.js';

export type ExecutionMode = 'normal' | 'secure';

export interface MountSpec {
  /** Host directory; absent for an in-memory mount. */
  hostPath?: string;
  guestPath: string;
  readOnly: boolean;
  /** In-memory mount of at most this many bytes. */
  tmpfsBytes?: number;
  /** How much the guest may add below the mount while it runs (EDQUOT past it). */
  quota?: QuotaLimits;
}

/** The limits the enclave itself enforces (the host enforces time, output and sockets). */
export interface EnclaveLimits {
  maxFds: number;
  /** Linear memory cap (the module was compiled with it where possible). */
  memoryBytes: number;
  /** Bytes one call may make the host allocate. */
  callBytes: number;
  /** Threads the guest may run at once, its main thread included (each is a host thread, in both modes). */
  maxThreads: number;
}

/** The one memory import Capsule provides. */
export const MEMORY_IMPORT = { module: 'env', name: 'memory' } as const;

/** What the enclave creates for a module that imports `env.memory`: WebAssembly.Memory descriptor values, in pages. */
export interface ImportedMemory {
  initial: number;
  /** Absent: no maximum declared (only for an unshared memory). */
  maximum?: number;
  shared: boolean;
}

export interface ImportName {
  module: string;
  name: string;
}

export interface EnclaveConfig {
  /** The guest's name on the layer's network. */
  name: string;
  module: WebAssembly.Module;
  args: string[];
  env: string[];
  mounts: MountSpec[];
  mode: ExecutionMode;
  limits: EnclaveLimits;
  /** The memory to create and give the guest as `env.memory`, when it imports one. */
  importedMemory?: ImportedMemory;
  /** Imports to satisfy with functions that trap when called. */
  trappingImports: ImportName[];
  output: SharedArrayBuffer;
  input: SharedArrayBuffer;
  control: SharedArrayBuffer;
  terminals: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** The layer's board of coalesced small writes and this enclave's slot on it; absent when the cache is off. */
  writeCache?: { board: SharedArrayBuffer; slot: number };
  /** Where the enclave's calls to the layer go (transferred with the config). */
  layerPort: import('node:worker_threads').MessagePort;
  /** Call this export with these (already typed) arguments instead of `_start`. */
  invoke?: { name: string; args: (number | bigint)[]; results: string[] };
  /** Test-only (see wipe.ts): check that the memory is zero after wiping it, and report it. */
  checkWipe?: boolean;
  /** A guest prepared for suspension (--suspendable): how to seal it, and the snapshot to resume from. */
  suspendable?: SuspendableConfig;
  /** The host may give this thread another guest after this one, if it ends cleanly (see EnclaveReport.reusable). */
  reusable?: boolean;
}

export interface SuspendableConfig {
  /** Where the host's suspend requests arrive and the enclave's answers go (transferred). */
  port: import('node:worker_threads').MessagePort;
  sealKey: Uint8Array;
  /** What the snapshot's header binds. */
  guests: { name: string; moduleSha256: string }[];
  policySha256: string;
  /** Carried in the sealed state. */
  module: { path?: string; sha256: string; preparation: string };
  policy: unknown;
  /** Resume from this snapshot (its header, module and policy already checked by the host). */
  resumeFrom?: string;
  /** A guest of a system: where its part of the system's snapshot starts (SnapshotReader.position). */
  resumePart?: { offset: number; index: number };
  /** Where the host's unsealing thread sends the snapshot's authenticated chunks (snapshot/chunk-channel.ts), instead of the file being read here; its port is transferred. */
  resumeChunks?: import('./unseal-thread.js').UnsealedChunks;
}

/** What a threaded guest's service tells the host once, before its first thread starts. */
export interface ThreadingSetup {
  kind: 'threading';
  /** The guest's shared memory, given to every thread as `env.memory`. */
  memory: WebAssembly.Memory;
  /** The thread table (thread-table.ts) and the call mailbox (call-forwarding.ts). */
  threads: SharedArrayBuffer;
  calls: SharedArrayBuffer;
}

/** One guest thread to start: the main thread runs `_start`, the others `wasi_thread_start(tid, arg)`. */
export interface ThreadStart {
  kind: 'spawn';
  tid: number;
  slot: number;
  arg: number;
}

/** A guest thread ended; with `outcome`, the guest ends with it (exit, a trap...). */
export interface ThreadEnd {
  kind: 'thread-end';
  tid: number;
  outcome?: Outcome;
  /** CPU time the thread used, ms. */
  cpuMs?: number;
}

/** What a guest thread's enclave thread is configured with. */
export interface GuestThreadConfig {
  kind: 'guest-thread';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  threads: SharedArrayBuffer;
  calls: SharedArrayBuffer;
  control: SharedArrayBuffer;
  trappingImports: ImportName[];
  mode: ExecutionMode;
  limits: EnclaveLimits;
  start: ThreadStart;
}

/** An audit line (a denial) made on a guest thread, for the host's log. */
export interface ThreadDenial {
  kind: 'denial';
  line: string;
}

/** Messages an enclave thread sends the host, besides its final EnclaveReport. */
export type EnclaveMessage = ThreadingSetup | ThreadStart | ThreadEnd | ThreadDenial;

/** Int32 slots of the control buffer. */
export const Control = {
  /** Bumped (and notified) by the host whenever it delivers something the guest may wait for. */
  EPOCH: 0,
  /** Bit per guest fd (1, 2) whose host stream is gone: writes fail with EPIPE. */
  CLOSED_OUTPUTS: 1,
  /** Sequence number of the last reply the layer posted to this enclave. */
  REPLY: 2,
  /**
   * Runs of output (records of one stream between switches to another) the
   * host has taken from the ring, a running count only the host writes: the
   * enclave compares it with its own count to bound the runs waiting, and so
   * the host's work after a stop.
   */
  OUTPUT_RUNS_TAKEN: 3,
  /** Doorbell of a threaded guest's service: bumped (and notified) by a thread that forwarded a call. */
  CALLS: 4,
  /** Set by the host when a threaded guest has ended: its service stops serving and reports. */
  FINISH: 5,
  /** The import the guest is in (see abi/call-names.ts), 0 when it runs its own code; only the enclave writes. */
  CALL: 6,
  /** 1 while the enclave sleeps inside that call (blocked), else 0; only the enclave writes. */
  WAITING: 7,
  /** Linear memory in 64 KiB pages, as of the guest's last call (it never shrinks); only the enclave writes. */
  MEMORY_PAGES: 8,
  /** The enclave thread's kernel thread id (for its CPU time), 0 where unknown; only the enclave writes. */
  THREAD_ID: 9,
  /** Open descriptors, as of the guest's last call; only the enclave writes. */
  DESCRIPTORS: 10,
  /** 1 when the host asks a suspendable guest to suspend (see suspender.ts); only the host writes. */
  SUSPEND: 11,
  SIZE: 12,
} as const;

/** The SUSPEND word once the host has posted its word to a stopped guest of a system (see suspender.ts). */
export const SUSPEND_DECIDED = 2;

/** Why a guest stopped running. */
export type Outcome =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: string; code: number }
  | { kind: 'trap'; message: string }
  | { kind: 'limit'; limit: string; message: string }
  /** Stopped from outside; `signal` names the host signal that asked for it, if one did. */
  | { kind: 'killed'; message: string; signal?: string }
  | { kind: 'failed'; cause: FailureCause; message: string }
  /** Sealed into `file` (`bytes` long) by `capsule suspend`; `capsule resume` continues it. */
  | { kind: 'suspended'; file: string; bytes: number;
      /** Sealed by the host's writer (a guest of a system, or one sealed with its sockets): where its part ends (the writer goes on from there). */
      partEnd?: { index: number; written: number };
      /** A guest of a system: its part of the system's file. */
      withSystem?: true };

/**
 * Why an enclave could not run its guest at all ('dependency': a guest it waits for never listened; 'snapshot': one it
 * resumes from is unusable; 'snapshot-mismatch': sound, but it does not fit this resume, a file it had open among them).
 */
export type FailureCause = 'link' | 'mount' | 'memory' | 'internal' | 'dependency' | 'snapshot' | 'snapshot-mismatch';

export interface Usage {
  /** Bytes read and written per mount (by guest path). */
  files: Record<string, { read: number; written: number }>;
  /** Bytes sent and received per peer address, and sockets opened. */
  network: { peers: Record<string, { sent: number; received: number }>; socketsOpened: number };
  /** Peak size of linear memory in bytes. */
  peakMemory: number;
  /**
   * CPU time of the guest's own thread during the run, ms: from the kernel
   * where it tells (Linux, in 10 ms ticks), else the time it did not wait.
   */
  threadCpuMs: number;
  /**
   * The enclave thread that ran the guest (its thread id in this process) and
   * the guest's rank on it: 1 on a fresh thread, more on one reused after
   * earlier guests ended cleanly (see enclave/pool.ts).
   */
  enclaveThread?: { id: number; guest: number };
}

/** Audit events cross from the enclave in the output ring as records on this pseudo-fd. */
export const AUDIT_FD = 3;

export interface EnclaveReport {
  outcome: Outcome;
  usage: Usage;
  /** What the invoked function returned (see EnclaveConfig.invoke), when it returned. */
  results?: (number | bigint)[];
  /**
   * Present when the guest ended cleanly (it returned or exited, alone, not
   * suspendable) on a thread the host may reuse (EnclaveConfig.reusable): the
   * thread then waits for its next config; `heapBytes` is its JavaScript heap in use.
   */
  reusable?: { heapBytes: number };
  /** With checkWipe: the linear memory zeroed at the end, and the bytes found non-zero after. */
  wiped?: { memoryBytes: number; memoryNonZero: number };
}

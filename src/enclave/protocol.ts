// What the host thread and an enclave's thread say to each other. The
// enclave gets one EnclaveConfig at start and answers with one EnclaveReport;
// everything in between goes through shared memory (rings, control words).

export type ExecutionMode = 'normal' | 'secure';

export interface MountSpec {
  /** Host directory; absent for an in-memory mount. */
  hostPath?: string;
  guestPath: string;
  readOnly: boolean;
  /** In-memory mount of at most this many bytes. */
  tmpfsBytes?: number;
}

/** The limits the enclave itself enforces (the host enforces time, output and sockets). */
export interface EnclaveLimits {
  maxFds: number;
  /** Linear memory cap (the module was compiled with it where possible). */
  memoryBytes: number;
  /** Bytes one call may make the host allocate. */
  callBytes: number;
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
  /** Imports to satisfy with functions that trap when called. */
  trappingImports: ImportName[];
  output: SharedArrayBuffer;
  input: SharedArrayBuffer;
  control: SharedArrayBuffer;
  terminals: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** Where the enclave's calls to the layer go (transferred with the config). */
  layerPort: import('node:worker_threads').MessagePort;
  /** Test-only (see wipe.ts): check that the memory is zero after wiping it, and report it. */
  checkWipe?: boolean;
  /** A guest prepared for suspension (--suspendable): how to seal it, and the snapshot to resume from. */
  suspendable?: SuspendableConfig;
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
}

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
  /** The import the guest is in (see lifecycle/call-names.ts), 0 when it runs its own code; only the enclave writes. */
  CALL: 4,
  /** 1 while the enclave sleeps inside that call (blocked), else 0; only the enclave writes. */
  WAITING: 5,
  /** Linear memory in 64 KiB pages, as of the guest's last call (it never shrinks); only the enclave writes. */
  MEMORY_PAGES: 6,
  /** The enclave thread's kernel thread id (for its CPU time), 0 where unknown; only the enclave writes. */
  THREAD_ID: 7,
  /** Open descriptors, as of the guest's last call; only the enclave writes. */
  DESCRIPTORS: 8,
  /** 1 when the host asks a suspendable guest to suspend (see suspender.ts); only the host writes. */
  SUSPEND: 9,
  SIZE: 10,
} as const;

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
  | { kind: 'suspended'; file: string; bytes: number };

/** Why an enclave could not run its guest at all. */
export type FailureCause = 'link' | 'mount' | 'memory' | 'internal' | 'snapshot';

export interface Usage {
  /** Bytes read and written per mount (by guest path). */
  files: Record<string, { read: number; written: number }>;
  /** Bytes sent and received per peer address, and sockets opened. */
  network: { peers: Record<string, { sent: number; received: number }>; socketsOpened: number };
  /** Peak size of linear memory in bytes. */
  peakMemory: number;
  /** CPU time of the guest's thread, ms (from the kernel where it tells, else time not spent waiting). */
  cpuMs: number;
}

/** Audit events cross from the enclave in the output ring as records on this pseudo-fd. */
export const AUDIT_FD = 3;

export interface EnclaveReport {
  outcome: Outcome;
  usage: Usage;
  /** With checkWipe: the linear memory zeroed at the end, and the bytes found non-zero after. */
  wiped?: { memoryBytes: number; memoryNonZero: number };
}

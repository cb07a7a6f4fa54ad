// The enclave lifecycle (FIG. 50): the states a guest passes through, the
// host's record of them, and what `capsule ps` shows of a guest. Transitions
// decided by the host (start, run, suspend, resume, end) are events: the API
// hears each one and the audit log records it. "Blocked" is sampled instead:
// the enclave publishes the call it sleeps in (activity.ts) and the host
// reads it when asked, since an event per blocking call would flood the log.

import fs from 'node:fs';
import { Control } from '../enclave/protocol.js';
import { callName } from '../abi/call-names.js';

export type GuestState = 'starting' | 'running' | 'blocked' | 'suspending' | 'suspended' | 'resuming' | 'exited' | 'killed';

/** One transition, as the API hears it. */
export interface LifecycleEvent {
  guest: string;
  from: GuestState | undefined;
  to: GuestState;
  /** ISO 8601 time of the transition. */
  time: string;
  /** Why (for exited and killed: how the guest ended). */
  reason?: string;
}

/** One guest of a running layer, as `capsule ps` shows it. */
export interface GuestRow {
  name: string;
  state: GuestState;
  /** For "blocked": the call the guest sleeps in. */
  blockedIn?: string;
  /** ms since the guest started. */
  uptimeMs: number;
  /** Bytes; `limit` is null where there is none (normal mode). */
  memory: { current: number; peak: number; limit: number | null };
  /** CPU time of the guest's thread, ms (undefined where the host does not tell). */
  cpuMs?: number;
  descriptors: number;
  sockets: number;
}

/** CPU time (user + system) of one thread of this process, from the kernel (Linux). */
function threadCpuMs(tid: number): number | undefined {
  if (tid <= 0) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15, in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** How a system is sealed guest by guest (api/system-suspend.ts): all stop first, then each seals its part. */
export interface SystemSuspender {
  /** `ended`: it ended on its own meanwhile (it is then left out of the snapshot). */
  stop(): Promise<{ stopped: true } | { error: string; ended?: true }>;
  seal(part: import('../snapshot/seal.js').WriterHandoff): Promise<{ bytes: number; index: number; written: number } | { error: string }>;
  goOn(): void;
}

export class Lifecycle {
  private current: GuestState | undefined;
  private readonly startedAt = performance.now();
  private words: Int32Array | undefined;
  private peakBytes = 0;
  private lastCpuMs: number | undefined;
  /** Set while a suspendable guest runs: seals it into a file (see enclave/launch.ts). */
  suspender: ((file: string) => Promise<{ bytes: number } | { error: string }>) | undefined;
  /** Set while a suspendable guest of a system runs: stops it, seals its part of the system's file, or lets it go on. */
  systemSuspender: SystemSuspender | undefined;

  constructor(readonly name: string, readonly memoryLimit: number, private readonly onEvent: (e: LifecycleEvent) => void) {}

  get state(): GuestState | undefined {
    return this.current;
  }

  /** Moves to `to` and tells the listener; a guest that ended stays ended. */
  to(to: GuestState, reason?: string): void {
    const from = this.current;
    if (from === to || from === 'exited' || from === 'killed' || from === 'suspended') return;
    if (to === 'exited' || to === 'killed' || to === 'suspended') this.sample();
    this.current = to;
    this.onEvent({ guest: this.name, from, to, time: new Date().toISOString(), ...(reason !== undefined ? { reason } : {}) });
  }

  /** What the enclave reported at its end: the last word on its CPU time and memory. */
  final(cpuMs: number, peakBytes: number): void {
    this.lastCpuMs = cpuMs;
    this.peakBytes = Math.max(this.peakBytes, peakBytes);
  }

  /** The enclave's control words, once its thread is launched. */
  attach(words: Int32Array): void {
    this.words = words;
  }

  private sample(): { pages: number; cpuMs: number | undefined } {
    const w = this.words;
    const pages = w ? Atomics.load(w, Control.MEMORY_PAGES) : 0;
    this.peakBytes = Math.max(this.peakBytes, pages * 65536);
    const cpu = w ? threadCpuMs(Atomics.load(w, Control.THREAD_ID)) : undefined;
    // The thread is gone after the guest ends (or back in the pool): its last reading stands.
    if (cpu !== undefined && this.current !== 'exited' && this.current !== 'killed' && this.current !== 'suspended') this.lastCpuMs = cpu;
    return { pages, cpuMs: this.lastCpuMs };
  }

  /** The guest as of now; `sockets` is counted by the layer, which owns the table. */
  row(sockets: number): GuestRow {
    const w = this.words;
    const ended = this.current === 'exited' || this.current === 'killed' || this.current === 'suspended';
    const { pages, cpuMs } = ended ? { pages: this.peakBytes / 65536, cpuMs: this.lastCpuMs } : this.sample();
    let state = this.current ?? 'starting';
    let blockedIn: string | undefined;
    if (state === 'running' && w && Atomics.load(w, Control.WAITING) === 1) {
      state = 'blocked';
      blockedIn = callName(Atomics.load(w, Control.CALL)) ?? 'a call';
    }
    return {
      name: this.name, state, ...(blockedIn !== undefined ? { blockedIn } : {}),
      uptimeMs: Math.round(performance.now() - this.startedAt),
      memory: { current: ended ? 0 : pages * 65536, peak: this.peakBytes, limit: Number.isFinite(this.memoryLimit) ? this.memoryLimit : null },
      ...(cpuMs !== undefined ? { cpuMs } : {}),
      descriptors: w && !ended ? Atomics.load(w, Control.DESCRIPTORS) : 0,
      sockets,
    };
  }
}

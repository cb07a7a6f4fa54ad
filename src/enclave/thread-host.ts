// The host side of a threaded guest's threads: starts an enclave thread for
// each guest thread its service or another thread asks for, passes on their
// audit lines, and tells the enclave when a thread ended the guest (an exit,
// a trap) or when the last thread is gone. Stopping the guest stops them all.

import type { Worker } from 'node:worker_threads';
import { ensureIdle, takeWorker } from './pool.js';
import { AUDIT_FD, type EnclaveConfig, type EnclaveMessage, type GuestThreadConfig, type Outcome, type ThreadingSetup, type ThreadStart } from './protocol.js';
import type { OutputSink } from './stdio.js';

type GuestOptions = Pick<EnclaveConfig, 'module' | 'trappingImports' | 'mode' | 'limits'> & { onOutput: OutputSink };

const encoder = new TextEncoder();

export class GuestThreads {
  private setup: ThreadingSetup | undefined;
  private readonly workers = new Set<Worker>();
  private stopping = false;
  /** CPU time of the guest threads that ended by themselves (a stopped thread cannot tell), ms. */
  cpuMs = 0;

  constructor(private readonly o: GuestOptions, private readonly control: SharedArrayBuffer, private readonly end: (outcome: Outcome) => void) {}

  onMessage(m: EnclaveMessage): void {
    switch (m.kind) {
      case 'threading': this.setup = m; return;
      case 'spawn': this.start(m); return;
      case 'thread-end':
        this.cpuMs += m.cpuMs ?? 0;
        if (m.outcome) this.end(m.outcome);
        return;
      case 'denial': void this.o.onOutput(AUDIT_FD, encoder.encode(m.line + '\n')); return;
    }
  }

  private start(start: ThreadStart): void {
    if (this.stopping || !this.setup) return;
    const w = takeWorker();
    // A guest that started one thread is likely to start another: have one booting.
    ensureIdle(1);
    this.workers.add(w);
    const cfg: GuestThreadConfig = {
      kind: 'guest-thread', module: this.o.module, memory: this.setup.memory, threads: this.setup.threads,
      calls: this.setup.calls, control: this.control, trappingImports: this.o.trappingImports, mode: this.o.mode,
      limits: this.o.limits, start,
    };
    w.postMessage(cfg);
    w.on('message', (m: EnclaveMessage) => this.onMessage(m));
    w.on('error', (err) => this.end((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? { kind: 'failed', cause: 'memory', message: 'a guest thread ran out of host memory' }
      : { kind: 'failed', cause: 'internal', message: `a guest thread failed: ${err.message}` }));
    w.once('exit', () => {
      this.workers.delete(w);
      // Every thread ended without ending the guest (the main thread left by thread_exit): it is done.
      if (this.workers.size === 0 && !this.stopping) this.end({ kind: 'exit', code: 0 });
    });
  }

  /** Stops every guest thread; resolves once all are gone. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }

  /** Protected application memory (secure mode): after stopAll(), nothing the guest held outlives it. */
  wipe(): void {
    if (this.o.mode !== 'secure' || !this.setup) return;
    new Uint8Array(this.setup.memory.buffer).fill(0);
  }
}

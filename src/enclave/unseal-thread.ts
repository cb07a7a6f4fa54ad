// The unsealing thread of a resume: reads and decrypts the snapshot into
// the staging ring (snapshot/staging.ts) while the enclave copies what it
// has placed into guest memory, so that decryption and the copy (with the
// page faults of the guest's fresh memory) run on two cores instead of one
// after the other. The thread is booted when the resume begins, so its
// start overlaps the host's checks and the enclave's own start; it is an
// enclave thread (the same code), given an UnsealConfig instead of a guest.

import type { Worker } from 'node:worker_threads';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { bootWorker } from './pool.js';
import { cancelStaging, createStaging, failStaging, StagingWriter, wipeStaging } from '../snapshot/staging.js';

export interface UnsealConfig {
  kind: 'unseal';
  file: string;
  /** The seal key (a copy, transferred, wiped by the thread once the file's key is derived). */
  sealKey: ArrayBuffer;
  /** The header's salt the host authenticated: the file opened again must be that same snapshot. */
  salt: string;
  staging: SharedArrayBuffer;
}

/** The host's side: a thread booted now, told what to unseal once the host has checked the snapshot. */
export class UnsealThread {
  private readonly worker: Worker;
  private staging: SharedArrayBuffer | undefined;
  private ended = false;

  constructor() {
    this.worker = bootWorker();
    // Whatever ends the thread before it placed the final chunk refuses the resume (the enclave is waiting on the ring).
    this.worker.once('error', (err) => this.died(err.message));
    this.worker.once('exit', () => this.died('it ended early'));
  }

  private died(why: string): void {
    this.ended = true;
    if (this.staging) failStaging(this.staging, `the thread unsealing the snapshot failed: ${why}`);
  }

  /** Starts unsealing `file` (whose header carried `salt`) into a new ring, returned for the enclave. */
  begin(file: string, sealKey: Uint8Array, salt: string, chunkBytes: number): SharedArrayBuffer {
    this.staging = createStaging(chunkBytes);
    if (this.ended) {
      failStaging(this.staging, 'the thread unsealing the snapshot failed: it ended early');
      return this.staging;
    }
    const key = new Uint8Array(sealKey).buffer;
    const cfg: UnsealConfig = { kind: 'unseal', file, sealKey: key, salt, staging: this.staging };
    this.worker.postMessage(cfg, [key]);
    return this.staging;
  }

  /**
   * The resume ended (or was refused): the thread stops at its next chunk,
   * and once it has gone no plaintext is left in the ring.
   */
  stop(): void {
    const staging = this.staging;
    if (staging === undefined) {
      void this.worker.terminate();
      return;
    }
    cancelStaging(staging);
    if (this.ended) wipeStaging(staging);
    else {
      this.worker.unref();
      this.worker.once('exit', () => wipeStaging(staging));
    }
  }
}

/** The thread's side (from worker.ts): every chunk of the snapshot, authenticated, into the ring, in order. */
export async function serveUnseal(cfg: UnsealConfig): Promise<void> {
  const out = new StagingWriter(cfg.staging);
  const sealKey = new Uint8Array(cfg.sealKey);
  try {
    const { SnapshotReader } = await import('../snapshot/unseal.js');
    const reader = await SnapshotReader.open(cfg.file, sealKey).finally(() => sealKey.fill(0));
    try {
      if (reader.header.salt !== cfg.salt) throw new CapsuleError(ExitCode.SNAPSHOT_REFUSED, `'${cfg.file}' was replaced while it was being resumed`);
      for (;;) {
        const pieces = await reader.nextPieces();
        if (pieces === undefined) { out.finish(); break; }
        if (!out.place(pieces)) break;
      }
    } finally {
      await reader.close();
    }
  } catch (err) {
    if (err instanceof CapsuleError) out.fail(err.exitCode, err.message);
    else out.fail(ExitCode.SNAPSHOT_REFUSED, `'${cfg.file}' cannot be read: ${(err as Error).message}`);
  }
}

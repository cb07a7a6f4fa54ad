// The unsealing thread of a resume: reads and decrypts the snapshot and
// sends its chunks, each authenticated, to the enclave (snapshot/chunk-channel.ts)
// while the enclave copies the ones before into guest memory, so that
// decryption and the copy (with the page faults of the guest's fresh memory)
// run on two cores instead of one after the other. The thread is booted
// when the resume begins, so that its start overlaps the host's checks and
// the enclave's own start; it is an enclave thread (the same code), given
// an UnsealConfig instead of a guest (unseal-serve.ts is its side).

import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { holdSpares, takeSecondWorker } from './pool.js';
import { createChunkControl, drainChunks, failChunks, stopChunks } from '../snapshot/chunk-control.js';

export interface UnsealConfig {
  kind: 'unseal';
  file: string;
  /** The seal key (a copy, transferred, wiped by the thread once the file's key is derived). */
  sealKey: ArrayBuffer;
  /** The header's salt the host authenticated: the file opened again must be that same snapshot. */
  salt: string;
  /** Where the chunks go (transferred), and the channel's control block. */
  port: MessagePort;
  control: SharedArrayBuffer;
}

/** What the enclave is given to take the chunks from (its side of the channel, transferred with its config). */
export interface UnsealedChunks {
  port: MessagePort;
  control: SharedArrayBuffer;
  /** The header's salt the host authenticated: the enclave's own reader must find the same snapshot. */
  salt: string;
}

/** The host's side: a thread booted now, told what to unseal once the host has checked the snapshot. */
export class UnsealThread {
  private readonly worker: Worker;
  private channel: { control: SharedArrayBuffer; port: MessagePort } | undefined;
  private ended = false;
  /** Resolves once the thread has gone. */
  readonly gone: Promise<void>;

  constructor() {
    this.worker = takeSecondWorker();
    this.gone = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // The unsealing needs both cores: the spare that replaces the enclave's thread is booted after it.
    holdSpares(this.gone);
    // Whatever ends the thread before it sent the final chunk refuses the resume (the enclave may be waiting for one).
    this.worker.once('error', (err) => this.died(err.message));
    this.worker.once('exit', () => this.died('it ended early'));
  }

  private died(why: string): void {
    this.ended = true;
    if (this.channel) failChunks(this.channel.control, `the thread unsealing the snapshot failed: ${why}`);
  }

  /** Starts unsealing `file` (whose authenticated header carried `salt`); returns the enclave's end of the channel. */
  begin(file: string, sealKey: Uint8Array, salt: string): UnsealedChunks {
    const control = createChunkControl();
    const { port1, port2 } = new MessageChannel();
    this.channel = { control, port: port2 };
    if (this.ended) {
      port1.close();
      failChunks(control, 'the thread unsealing the snapshot failed: it ended early');
    } else {
      const key = new Uint8Array(sealKey).buffer;
      const cfg: UnsealConfig = { kind: 'unseal', file, sealKey: key, salt, port: port1, control };
      this.worker.postMessage(cfg, [key, port1]);
    }
    return { port: port2, control, salt };
  }

  /**
   * The resume ended (or was refused): the thread stops at its next chunk.
   * Chunks the enclave never took (it was not started) are zeroed once the
   * thread has gone.
   */
  stop(): void {
    const channel = this.channel;
    if (channel === undefined) {
      void this.worker.terminate();
      return;
    }
    stopChunks(channel.control);
    const drain = (): void => {
      try {
        drainChunks(channel.port);
        channel.port.close();
      } catch { /* the enclave took this end, and zeroes what it did not read */ }
    };
    if (this.ended) drain();
    else {
      this.worker.unref();
      this.worker.once('exit', drain);
    }
  }
}

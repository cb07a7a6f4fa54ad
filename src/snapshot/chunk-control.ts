// The control block of a resume's chunk channel (chunk-channel.ts): a few
// shared words that count the chunks in flight, wake the side that waits,
// and carry the final status (done, a failure with its one line and exit
// code, or "stop"). Nothing here waits: the host uses it too, to stop a
// resume or report that the unsealing thread died, and the host thread
// never blocks.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

/** The longest failure message carried (one line naming the cause). */
export const MESSAGE_BYTES = 4096;

// Int32 words of the control block.
export const EPOCH = 0; // bumped (and notified) on every change the enclave waits for
export const SENT = 1; // chunks sent
export const TAKEN = 2; // chunks the enclave is done with (bumped and notified by it)
export const STATUS = 3;
export const CODE = 4; // a failure's exit code
export const MESSAGE_LENGTH = 5;
export const SILENT = 6; // 1 once the unsealing thread sends nothing more
export const CLAIMED = 7; // 1 once a final status is being set (its message is written before the status is)
export const WORDS = 8;
export const RUNNING = 0;
export const DONE = 1;
export const FAILED = 2;
/** The resume is given up (the enclave ended, or it was refused): the unsealing thread stops. */
export const STOPPED = 3;

export type ChunkMessage = { pieces: ArrayBuffer[] };

/** A control block for one resume. */
export function createChunkControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(WORDS * 4 + MESSAGE_BYTES);
}

export function words(sab: SharedArrayBuffer): Int32Array {
  return new Int32Array(sab, 0, WORDS);
}

export function bump(w: Int32Array, word: number): void {
  Atomics.add(w, word, 1);
  Atomics.notify(w, word);
}

/** Sets the final status (the first one to claim it wins) and wakes both sides. */
export function end(sab: SharedArrayBuffer, status: number, failure?: { code: number; message: string }): void {
  const w = words(sab);
  if (Atomics.compareExchange(w, CLAIMED, 0, 1) !== 0) return;
  if (failure) {
    const text = Buffer.from(failure.message);
    const n = Math.min(text.length, MESSAGE_BYTES);
    text.copy(Buffer.from(sab, WORDS * 4, MESSAGE_BYTES), 0, 0, n);
    Atomics.store(w, CODE, failure.code);
    Atomics.store(w, MESSAGE_LENGTH, n);
  }
  Atomics.store(w, STATUS, status);
  bump(w, EPOCH);
  bump(w, TAKEN);
}

/** Gives up a resume from outside (the host, when the run ends before the enclave took every chunk). */
export function stopChunks(sab: SharedArrayBuffer): void {
  end(sab, STOPPED);
}

/** Records a failure of the unsealing thread itself (it died): the enclave refuses the resume with this line. */
export function failChunks(sab: SharedArrayBuffer, message: string): void {
  end(sab, FAILED, { code: ExitCode.SNAPSHOT_REFUSED, message });
  silent(words(sab));
}

export function silent(w: Int32Array): void {
  Atomics.store(w, SILENT, 1);
  Atomics.notify(w, SILENT);
  bump(w, EPOCH);
}

/** Zeroes every piece still queued on `port` (one end of a channel no one will read on). */
export function drainChunks(port: MessagePort): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    for (const ab of (m.message as Partial<ChunkMessage>).pieces ?? []) new Uint8Array(ab).fill(0);
  }
}

/** The failure the control block carries, as the one line to refuse the resume with. */
export function failureOf(sab: SharedArrayBuffer): CapsuleError {
  const w = words(sab);
  return new CapsuleError(Atomics.load(w, CODE), Buffer.from(sab, WORDS * 4, Atomics.load(w, MESSAGE_LENGTH)).toString('utf8'));
}

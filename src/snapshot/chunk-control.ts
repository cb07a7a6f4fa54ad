// The control block of a resume's chunk channel (chunk-channel.ts): a few
// shared words that count the chunks in flight, wake the side that waits,
// and carry the final status (done, a failure with its one line and exit
// code, or "stop"), and how many of the first chunks the enclave decrypted
// itself while the unsealing thread was starting. Nothing here waits: the host uses it too, to stop a
// resume or report that the unsealing thread died, and the host thread
// never blocks.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { releaseBuffer } from '../core/release-buffer.js';

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
export const OWN = 8; // chunks the enclave decrypted itself before the unsealing thread was ready, | HANDED_OVER once it is
export const RETURNING = 9; // the enclave is giving pieces back (counted while it posts them)
export const REFUSING = 10; // 1 once the unsealing thread takes no more pieces back (it is about to close its port)
export const WORDS = 11;
/** Set in OWN by the unsealing thread when it takes over: the enclave claims no chunk after that. */
export const HANDED_OVER = 0x40000000;
export const RUNNING = 0;
export const DONE = 1;
export const FAILED = 2;
/** The resume is given up (the enclave ended, or it was refused): the unsealing thread stops. */
export const STOPPED = 3;

/** A chunk, from the unsealing thread; or pieces the enclave has copied, given back to be zeroed there. */
export type ChunkMessage = { pieces: ArrayBuffer[] };
export type ReturnMessage = { back: ArrayBuffer[] };

/** Zeroes and frees plaintext pieces no one reads any more. */
export function zeroPieces(pieces: readonly ArrayBuffer[]): void {
  for (const ab of pieces) {
    if (ab.byteLength === 0) continue; // detached: moved on, or freed already
    new Uint8Array(ab).fill(0);
    releaseBuffer(ab);
  }
}

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

/**
 * The enclave claims the next chunk (its `claimed + 1`th) to decrypt itself,
 * while the unsealing thread is still starting: true unless that thread has
 * taken over, from when on every further chunk comes through the channel.
 */
export function claimOwnChunk(sab: SharedArrayBuffer, claimed: number): boolean {
  return Atomics.compareExchange(words(sab), OWN, claimed, claimed + 1) === claimed;
}

/** The unsealing thread takes over: how many chunks the enclave claimed (the thread starts after them). */
export function takeOver(sab: SharedArrayBuffer): number {
  return Atomics.or(words(sab), OWN, HANDED_OVER) & ~HANDED_OVER;
}

/** Gives up a resume from outside (the host, when the run ends before the enclave took every chunk). */
export function stopChunks(sab: SharedArrayBuffer): void {
  end(sab, STOPPED);
}

/** Records a failure of the unsealing thread itself (it died): the enclave refuses the resume with this line. */
export function failChunks(sab: SharedArrayBuffer, message: string): void {
  end(sab, FAILED, { code: ExitCode.SNAPSHOT_REFUSED, message });
  Atomics.store(words(sab), REFUSING, 1);
  silent(words(sab));
}

export function silent(w: Int32Array): void {
  Atomics.store(w, SILENT, 1);
  Atomics.notify(w, SILENT);
  bump(w, EPOCH);
}

/** Zeroes every piece still queued on `port` (one end of a channel no one will read on, or pieces given back). */
export function drainChunks(port: MessagePort): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const message = m.message as Partial<ChunkMessage & ReturnMessage>;
    zeroPieces(message.pieces ?? message.back ?? []);
  }
}

/** The failure the control block carries, as the one line to refuse the resume with. */
export function failureOf(sab: SharedArrayBuffer): CapsuleError {
  const w = words(sab);
  return new CapsuleError(Atomics.load(w, CODE), Buffer.from(sab, WORDS * 4, Atomics.load(w, MESSAGE_LENGTH)).toString('utf8'));
}

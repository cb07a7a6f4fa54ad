// Blocking waits on a ring, for enclave threads only: the host thread must
// never sleep in Atomics.wait (it would stop every guest's calls, timers and
// Ctrl-C), so it awaits with the Ring's own waitAsync methods and never loads
// this module (test/unit/host-never-blocks.test.ts checks its import graph).

import { Ring, RingFlag, SEQ } from './ring.js';
import { perGuest } from '../core/guest-scope.js';

/**
 * How long a waiter re-checks before sleeping in Atomics.wait: waking a
 * sleeping thread costs tens of microseconds, a short spin far less.
 */
const SPIN_MS = 0.02;

/** Re-checks `ready()` for a moment; true as soon as it holds. */
export function spinUntil(ready: () => boolean): boolean {
  const until = performance.now() + SPIN_MS;
  do {
    for (let i = 0; i < 64; i++) if (ready()) return true;
  } while (performance.now() < until);
  return false;
}

/**
 * True for the error a sleep throws when the guest is asked to suspend (the
 * call unwinds and is made again on resume): a call that already moved bytes
 * returns that count instead, so they are neither lost nor moved twice.
 */
export function isSuspension(err: unknown): boolean {
  return err instanceof Error && (err as { suspension?: unknown }).suspension === true;
}

/** Runs each sleep of this thread's waits; the enclave marks itself blocked for its duration (enclave/activity.ts). */
const plainSleep = <T>(sleep: () => T): T => sleep();
let sleeper = plainSleep;
export function setSleeper(s: <T>(sleep: () => T) => T): void {
  sleeper = s;
}
perGuest(() => { sleeper = plainSleep; });

/**
 * Waits until `ready()` holds, spinning briefly first, with this side's
 * waiting flag set while it sleeps so the other side wakes it. False on timeout.
 */
export function waitUntil(ring: Ring, asReader: boolean, ready: () => boolean, timeoutMs: number): boolean {
  if (spinUntil(ready)) return true;
  const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    ring.setWaiting(asReader, true);
    const seen = ring.seq;
    if (ready()) { ring.setWaiting(asReader, false); return true; }
    const left = deadline - performance.now();
    if (left <= 0) { ring.setWaiting(asReader, false); return false; }
    sleeper(() => Atomics.wait(ring.header, SEQ, seen, left === Infinity ? undefined : left));
    ring.setWaiting(asReader, false);
    if (ready()) return true;
  }
}

/** Waits until at least `n` bytes are free (or the reader closed). */
export function waitForSpace(ring: Ring, n: number, timeoutMs = Infinity): boolean {
  return waitUntil(ring, false, () => ring.free >= n || ring.flag(RingFlag.READER_CLOSED), timeoutMs);
}

/** Waits until data is available or the writer closed. */
export function waitForData(ring: Ring, timeoutMs = Infinity): boolean {
  return waitUntil(ring, true, () => ring.used > 0 || ring.flag(RingFlag.WRITER_CLOSED), timeoutMs);
}

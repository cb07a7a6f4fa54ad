// Standard streams across the enclave boundary, the host's side (the
// enclave's side is guest-stdio.ts).
//
// Output: one ring carries stdout and stderr as records [fd:u8][len:u24][bytes],
// so their relative order survives, a write costs a memory copy instead of a
// system call, and whatever the guest wrote is still in shared memory for the
// host to flush if the guest traps or is stopped.
//
// Input: the host pumps its stdin into a ring, starting only when the guest
// first reads or polls stdin (so a guest that never reads consumes nothing).

import type { Readable } from 'node:stream';
import { Ring, RingFlag } from '../layer/ring.js';
import { Control } from './protocol.js';

/** Output records are [fd:u8][len:u24][bytes]. */
export const RECORD_HEADER = 4;
/**
 * Runs whose records average under this many bytes are copied out whole,
 * then squeezed: per-record copies out of the ring cost more than the bytes.
 */
const SMALL_RECORD = 256;
/** Records up to this size are squeezed out byte by byte. */
const TINY_RECORD = 32;
/** Largest chunk the host side hands to a sink at once. */
const MAX_CHUNK = 1 << 20;

/**
 * Most runs of output (a switch from one stream to the other starts a run) the
 * ring may hold at once. Each run costs the host a delivery, so this bounds
 * how long flushing a stopped guest's output takes (a guest alternating 1-byte
 * writes to stdout and stderr would otherwise leave 200,000 in a 1 MiB ring);
 * a guest writing to one stream is never held back by it.
 */
export const MAX_PENDING_RUNS = 2048;

/** Set in the input ring's flags by the enclave to ask the host to start reading. */
export const INPUT_WANTED = 4;

export type OutputSink = (fd: number, bytes: Uint8Array) => void | Promise<void>;

/**
 * Work the host thread does for one guest's output before it yields to its
 * event loop: whatever a guest writes, timers (the wall-time limit), signals
 * (Ctrl-C) and every other guest's calls get their turn within a bounded
 * time. A run of records costs about the same whether it holds one byte or
 * many, so both bytes and runs are counted.
 */
const TURN_BYTES = 1 << 20;
const TURN_RUNS = 2048;

/** The longest a chatty guest's output waits in the ring before the host takes it (see OutputPump.run). */
const GATHER_MS = 1;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Host side of the output ring: hands each record to `sink`, in order. */
export class OutputPump {
  readonly done: Promise<void>;
  /** The stream of the last run taken: the enclave counts switches the same way. */
  private lastFd = -1;

  constructor(private readonly ring: Ring, private readonly control: Int32Array, private readonly sink: OutputSink) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    let woken = -Infinity;
    for (;;) {
      // A guest writing without pause would wake this thread for every few writes, each wake costing both threads
      // more than the writes: woken again soon after a wake, the pump first lets the output gather (the first
      // output after a quiet spell is delivered at once). It never waits once the enclave has ended.
      const since = performance.now() - woken;
      if (since < GATHER_MS && !this.ring.flag(RingFlag.WRITER_CLOSED)) await this.gather(GATHER_MS - since);
      await this.ring.dataAvailable();
      woken = performance.now();
      await this.drain();
      if (this.ring.flag(RingFlag.WRITER_CLOSED) && this.ring.used === 0) return;
    }
  }

  private gatherTimer: NodeJS.Timeout | undefined;
  private gathered: (() => void) | undefined;
  private gather(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.gathered = resolve;
      this.gatherTimer = setTimeout(resolve, ms);
    });
  }

  /**
   * Delivers every complete record now in the ring, merging consecutive
   * records for the same stream into one chunk: a guest's many small writes
   * become a few large host writes. Yields to the event loop after each
   * turn's worth of work.
   */
  private async drain(): Promise<void> {
    const ring = this.ring;
    let turnBytes = 0;
    let turnRuns = 0;
    while (ring.used >= RECORD_HEADER) {
      if (turnBytes >= TURN_BYTES || turnRuns >= TURN_RUNS) {
        await nextTurn();
        turnBytes = 0;
        turnRuns = 0;
      }
      const available = ring.used;
      // Measure the run of complete records for one fd.
      let offset = 0;
      let bytes = 0;
      let records = 0;
      let fd = -1;
      while (offset + RECORD_HEADER <= available) {
        const tag = ring.byteAt(offset);
        const len = ring.byteAt(offset + 1) | (ring.byteAt(offset + 2) << 8) | (ring.byteAt(offset + 3) << 16);
        if ((fd !== -1 && tag !== fd) || offset + RECORD_HEADER + len > available) break;
        fd = tag;
        offset += RECORD_HEADER + len;
        bytes += len;
        records++;
        if (bytes >= MAX_CHUNK) break;
      }
      if (fd === -1) return;
      const chunk = new Uint8Array(bytes);
      if (bytes >= records * SMALL_RECORD) {
        // Large records: each one's bytes straight from the ring into the chunk (one allocation per run).
        for (let pos = 0, at = 0; pos < offset;) {
          const len = ring.byteAt(pos + 1) | (ring.byteAt(pos + 2) << 8) | (ring.byteAt(pos + 3) << 16);
          ring.peek(chunk.subarray(at, at + len), pos + RECORD_HEADER);
          at += len;
          pos += RECORD_HEADER + len;
        }
      } else {
        // Many small records: the run out in one copy, then the headers squeezed out in plain memory.
        const raw = new Uint8Array(offset);
        ring.peek(raw);
        for (let pos = 0, at = 0; pos < offset;) {
          const len = raw[pos + 1]! | (raw[pos + 2]! << 8) | (raw[pos + 3]! << 16);
          const from = pos + RECORD_HEADER;
          // A few bytes are copied one by one: a view per record would cost more than its copy.
          if (len <= TINY_RECORD) for (let k = 0; k < len; k++) chunk[at + k] = raw[from + k]!;
          else chunk.set(raw.subarray(from, from + len), at);
          at += len;
          pos += RECORD_HEADER + len;
        }
      }
      // Published before consumed: consume() is what wakes a writer waiting for room.
      if (fd !== this.lastFd) {
        Atomics.store(this.control, Control.OUTPUT_RUNS_TAKEN, (Atomics.load(this.control, Control.OUTPUT_RUNS_TAKEN) + 1) | 0);
        this.lastFd = fd;
      }
      ring.consume(offset);
      turnBytes += offset;
      turnRuns++;
      const pending = this.sink(fd, chunk);
      if (pending) await pending;
    }
  }

  /** Called when the enclave is gone: deliver the rest, then finish. */
  close(): Promise<void> {
    this.ring.setFlag(RingFlag.WRITER_CLOSED);
    clearTimeout(this.gatherTimer);
    this.gathered?.();
    return this.done;
  }
}

/** Host side of the input ring. `onData` runs after each delivery (to wake pollers). */
export class InputPump {
  private stopped = false;
  private ended = false;
  private pumping = false;
  private readonly queue: Uint8Array[] = [];
  /** The wait for the enclave's request, and the last copying run: what still waits on the ring. */
  private started: Promise<void> = Promise.resolve();
  private pumped: Promise<void> = Promise.resolve();
  private readonly onChunk = (chunk: Uint8Array | string): void => {
    this.queue.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (!this.pumping) this.pumped = this.pump();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    if (!this.pumping) this.finish();
  };

  constructor(private readonly ring: Ring, private readonly source: Readable | undefined, private readonly onData: () => void) {}

  /** Waits for the enclave to ask for input, then copies the source in until its end. */
  start(): Promise<void> {
    this.started = this.waitForRequest();
    return this.started;
  }

  /**
   * Resolves once nothing of the pump waits on the ring any more (after
   * stop()): only then may the ring be zeroed, flags included; a wait woken
   * by stop() that found the flags zeroed would wait for good, holding the
   * ring and the run that made it.
   */
  async settled(): Promise<void> {
    await this.started;
    await this.pumped;
  }

  private async waitForRequest(): Promise<void> {
    if (!this.source) return this.finish();
    // One wait for either flag: a race of two waits would leave the losing one pending for good, and with it
    // (Atomics.waitAsync holds its promise) this pump, its ring and the whole run that made it.
    await this.ring.flagSet(INPUT_WANTED | RingFlag.READER_CLOSED);
    if (this.stopped) return;
    this.source.on('data', this.onChunk);
    this.source.once('end', this.onEnd);
    this.source.once('error', this.onEnd);
    this.source.resume();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.queue.length > 0 && !this.stopped) {
      const head = this.queue[0]!;
      const n = this.ring.tryWrite(head);
      if (n === head.byteLength) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      if (n > 0) this.onData();
      if (this.queue.length > 0) {
        this.source?.pause();
        await this.ring.spaceAvailable(1);
      }
    }
    this.pumping = false;
    if (this.stopped) return;
    if (this.ended) this.finish();
    else this.source?.resume();
  }

  private finish(): void {
    this.ring.setFlag(RingFlag.WRITER_CLOSED);
    this.onData();
  }

  /** The enclave is gone: stop reading (the source itself is left to its owner). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ring.setFlag(RingFlag.READER_CLOSED);
    if (this.source) {
      this.source.off('data', this.onChunk);
      this.source.off('end', this.onEnd);
      this.source.off('error', this.onEnd);
      this.source.pause();
    }
  }
}

// The host side of an enclave: starts the guest's thread, pumps its stdio,
// enforces the wall-clock limit and collects its report. Whatever happens to
// the guest, output it produced is delivered and the thread is gone when
// launch() resolves.

import type { Readable } from 'node:stream';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { WriterHandoff } from '../snapshot/seal.js';
import type { SuspendRequest, SystemDecision } from './suspender.js';
import type { SealedNetwork } from '../layer/net/sealed.js';
import { Control, SUSPEND_DECIDED, type EnclaveConfig, type EnclaveMessage, type EnclaveReport, type Outcome, type SuspendableConfig, type Usage } from './protocol.js';
import { giveBack, takeWorker } from './pool.js';
import { GuestThreads } from './thread-host.js';
import { Ring } from '../layer/ring.js';
import { InputPump, OutputPump, type OutputSink } from './stdio.js';
import { wipe, wipeObserver } from './wipe.js';
import { removeUnfinishedFor } from '../snapshot/temp-files.js';

/** Output ring size: large enough that a chatty guest rarely waits for the host. */
const OUTPUT_RING_BYTES = 1 << 20;
const INPUT_RING_BYTES = 1 << 16;
/** How long the service of a threaded guest that has ended may take to report its usage. */
const FINISH_GRACE_MS = 1000;

/** How an enclave joins its layer: a port for its calls, and what to do when it is gone. */
export interface LayerMembership {
  port: MessagePort;
  /** The layer's board of coalesced small writes and this enclave's slot, when the cache is on. */
  writeCache?: { board: SharedArrayBuffer; slot: number };
  leave(): void;
}

/** What the guest's enclave is configured with, plus how the host side serves it. */
export interface LaunchOptions extends Omit<EnclaveConfig, 'output' | 'input' | 'control' | 'layerPort' | 'suspendable'> {
  suspendable?: Omit<SuspendableConfig, 'port'>;
  /** A resumed guest's memory, globals and stack are back: it runs its own code again. */
  onResumed?: () => void;
  /** Registers the enclave (by its control words) with the layer's services. */
  join(control: SharedArrayBuffer): LayerMembership;
  stdin: Readable | undefined;
  onOutput: OutputSink;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Resolve once the guest's report is in and its output delivered, leaving
   * its thread to end on its own, unref'd: for a process that exits next,
   * which need not wait for the thread's teardown. A threaded guest's host
   * side still waits for its thread.
   */
  resolveOnReport?: boolean;
  /**
   * Run on a thread that served earlier guests, if one waits, and give the
   * thread back if this guest ends cleanly (see pool.ts); otherwise the
   * guest's thread is fresh and ends with it.
   */
  reuseThread?: boolean;
}

export interface EnclaveHandle {
  /** Marks a guest output (1 or 2) as gone: its next write fails with EPIPE. */
  closeOutput(fd: number): void;
  /** Stops the guest at once (a limit reached on the host side); `outcome` says why. */
  stop(outcome: Outcome): void;
  /**
   * Asks a suspendable guest to seal itself into `file` (absolute): at its
   * next call, or at once if it sleeps in one. Resolves with the snapshot's
   * size, or why it could not be (the guest then goes on).
   */
  suspend(file: string): Promise<{ bytes: number } | { error: string }>;
  /**
   * A guest of a system: stops it as suspend() does, without sealing; it
   * then waits for sealPart() or goOn(). `wake` wakes it wherever else it sleeps (its socket queues).
   */
  stopForSystem(wake: () => void): Promise<{ stopped: true } | { error: string; ended?: true }>;
  /**
   * Seals the stopped guest into its part of the file the host writes; resolves with where the part ends.
   * `alone`: a lone guest sealed with its sockets, its network record in its state.
   */
  sealPart(part: WriterHandoff, alone?: { file: string; network: SealedNetwork }): Promise<{ bytes: number; index: number; written: number } | { error: string }>;
  /** The stopped guest goes on from where it stopped (the system was not sealed). */
  goOn(): void;
}

/**
 * An abort reason that says why the guest is stopped (the rest of a system,
 * when one guest failed; `capsule stop`), and the host signal it stands for, if any.
 */
export class StopRequest {
  constructor(readonly message: string, readonly signal?: string) {}
}

const emptyUsage: Usage = { files: {}, network: { peers: {}, socketsOpened: 0 }, peakMemory: 0, threadCpuMs: 0 };

export function launch(o: LaunchOptions, onStart?: (h: EnclaveHandle) => void): Promise<EnclaveReport> {
  const output = Ring.create(OUTPUT_RING_BYTES);
  const input = Ring.create(INPUT_RING_BYTES);
  const control = new SharedArrayBuffer(Control.SIZE * 4);
  const ctrl = new Int32Array(control);
  const wake = (): void => {
    Atomics.add(ctrl, Control.EPOCH, 1);
    Atomics.notify(ctrl, Control.EPOCH);
  };

  const membership = o.join(control);
  const suspendChannel = o.suspendable ? new MessageChannel() : undefined;
  const config: EnclaveConfig = {
    name: o.name, module: o.module, args: o.args, env: o.env, mounts: o.mounts, mode: o.mode, limits: o.limits,
    trappingImports: o.trappingImports, terminals: o.terminals, ...(o.invoke ? { invoke: o.invoke } : {}),
    ...(o.importedMemory ? { importedMemory: o.importedMemory } : {}),
    output: output.sab, input: input.sab, control, layerPort: membership.port,
    ...(membership.writeCache ? { writeCache: membership.writeCache } : {}),
    ...(o.suspendable && suspendChannel ? { suspendable: { ...o.suspendable, port: suspendChannel.port2 } } : {}),
    ...(wipeObserver() ? { checkWipe: true } : {}),
    ...(o.reuseThread && !o.resolveOnReport && !o.suspendable ? { reusable: true } : {}),
  };

  const outputPump = new OutputPump(output, ctrl, o.onOutput);
  const inputPump = new InputPump(input, o.stdin, wake);
  void inputPump.start();

  return new Promise<EnclaveReport>((resolve) => {
    let report: EnclaveReport | undefined;
    let stopped: Outcome | undefined;
    // Set by any stop, even one that comes after the report: such a thread is not given back.
    let retire = false;
    const worker = takeWorker(config.reusable === true);
    const resumeChunks = o.suspendable?.resumeChunks?.port;
    worker.postMessage(config, [membership.port, ...(suspendChannel ? [suspendChannel.port2] : []), ...(resumeChunks ? [resumeChunks] : [])]);
    const threads = new GuestThreads(o, control, (outcome) => finish(outcome));
    if (suspendChannel && o.suspendable?.resumeFrom !== undefined) {
      const resumed = (m: { resumed?: boolean }): void => {
        if (m.resumed !== true) return;
        suspendChannel.port1.off('message', resumed);
        suspendChannel.port1.unref();
        o.onResumed?.();
      };
      suspendChannel.port1.on('message', resumed);
    }
    const stop = (outcome: Outcome): void => {
      retire = true;
      if (report || stopped) return;
      stopped = outcome;
      void threads.stopAll();
      void worker.terminate();
    };
    // A thread of a threaded guest ended it: its service reports the usage, then goes.
    const finish = (outcome: Outcome): void => {
      retire = true;
      if (report || stopped) return;
      stopped = outcome;
      void threads.stopAll();
      Atomics.store(ctrl, Control.FINISH, 1);
      for (const word of [Control.CALLS, Control.EPOCH]) {
        Atomics.add(ctrl, word, 1);
        Atomics.notify(ctrl, word);
      }
      // A service held up in a host call is not waited for long.
      setTimeout(() => void worker.terminate(), FINISH_GRACE_MS).unref();
    };
    onStart?.({
      closeOutput(fd: number) {
        Atomics.or(ctrl, Control.CLOSED_OUTPUTS, 1 << fd);
      },
      stop,
      stopForSystem(wakeElsewhere: () => void) {
        return ask({ system: true }, () => wakeElsewhere()) as Promise<{ stopped: true } | { error: string; ended?: true }>;
      },
      sealPart(part: WriterHandoff, alone?: { file: string; network: SealedNetwork }) {
        const port = suspendChannel?.port1;
        if (port === undefined || report || stopped) return Promise.resolve({ error: 'the guest has ended' });
        const answer = awaitAnswer(port) as Promise<{ bytes: number; index: number; written: number } | { error: string }>;
        decide({ part, ...(alone ? { alone } : {}) });
        // The enclave has its own copy of the chunks' key now.
        part.key.fill(0);
        return answer;
      },
      goOn() {
        decide({ goOn: true });
      },
      suspend(file: string) {
        return ask({ file }, () => {}) as Promise<{ bytes: number } | { error: string }>;
      },
    });
    /** The host's word to a stopped guest of a system (see suspender.ts). */
    const decide = (decision: SystemDecision): void => {
      suspendChannel?.port1.postMessage(decision);
      Atomics.store(ctrl, Control.SUSPEND, SUSPEND_DECIDED);
      Atomics.notify(ctrl, Control.SUSPEND);
    };
    /** The enclave's next answer on the suspend port (or what its end says). */
    const awaitAnswer = (port: MessagePort, file?: string): Promise<object> => new Promise((resolve) => {
      const done = (answer: object): void => {
        if ('resumed' in answer) return;
        port.off('message', done);
        worker.off('exit', gone);
        port.unref();
        resolve(answer);
      };
      // The enclave's answer and its end race to the host: its report says the same.
      const gone = (): void => {
        const o = report?.outcome;
        // Stopped while it sealed: its temporary file goes too (its thread ran no exit hook).
        if (file !== undefined && o?.kind !== 'suspended') removeUnfinishedFor(file);
        done(o?.kind === 'suspended' ? { bytes: o.bytes, ...o.partEnd }
          : o?.kind === 'failed' && o.message.startsWith('cannot seal') ? { error: o.message }
          : { error: 'the guest ended before it could be suspended', ended: true });
      };
      port.on('message', done);
      worker.once('exit', gone);
    });
    /** Asks the guest to stop at its next call (or at once if it sleeps in one), for `request`. */
    const ask = async (request: SuspendRequest, wakeElsewhere: () => void): Promise<object> => {
      const port = suspendChannel?.port1;
      if (port === undefined) return { error: 'the guest was not started --suspendable' };
      // A word to a stopped guest it has not taken yet (a "go on" just said) is waited for: a request raised
      // over it would be read as still the old one, or its flag cleared by the guest taking the word.
      while (Atomics.load(ctrl, Control.SUSPEND) === SUSPEND_DECIDED && !report && !stopped && !ended) {
        const taken = Atomics.waitAsync(ctrl, Control.SUSPEND, SUSPEND_DECIDED, 50);
        if (taken.async) await taken.value;
      }
      if (report || stopped || ended) return { error: 'the guest has ended', ended: true };
      if (Atomics.load(ctrl, Control.SUSPEND) === 1) return { error: 'a suspension is already under way' };
      const answer = awaitAnswer(port, 'file' in request ? request.file : undefined);
      // The request first, then the flag: the enclave reads the request when it sees the flag.
      port.postMessage(request);
      Atomics.store(ctrl, Control.SUSPEND, 1);
      wake();
      // A guest asleep on its input or output ring is woken too.
      input.wakeAll();
      output.wakeAll();
      wakeElsewhere();
      return answer;
    };
    const timer = o.timeoutMs !== undefined && Number.isFinite(o.timeoutMs)
      ? setTimeout(() => stop({ kind: 'limit', limit: 'time', message: `wall-time limit of ${o.timeoutMs} ms reached` }), o.timeoutMs)
      : undefined;
    const onAbort = (): void => {
      // A host signal that asked for the stop travels as the abort reason (see cli/session.ts).
      const reason: unknown = o.signal?.reason;
      if (reason instanceof StopRequest) return stop({ kind: 'killed', message: reason.message, ...(reason.signal ? { signal: reason.signal } : {}) });
      const signal = typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason) ? reason : undefined;
      stop({ kind: 'killed', message: signal && signal !== 'SIGINT' ? `terminated by ${signal}` : 'interrupted', ...(signal ? { signal } : {}) });
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();

    let threaded = false;
    let crash: Error | undefined;
    let ended = false;
    const end = async (): Promise<void> => {
      if (ended) return;
      ended = true;
      await threads.stopAll();
      threads.wipe();
      if (timer) clearTimeout(timer);
      suspendChannel?.port1.close();
      o.signal?.removeEventListener('abort', onAbort);
      inputPump.stop();
      membership.leave();
      // A stop decided first wins over whatever the dying guest still reported: its last calls
      // may have failed only because its thread was being torn down (ports closing under it).
      const usage = report?.usage ?? emptyUsage;
      // A threaded guest's CPU time is its service's and its threads'.
      const withThreads = threads.cpuMs > 0 ? { ...usage, threadCpuMs: usage.threadCpuMs + threads.cpuMs } : usage;
      const final: EnclaveReport = stopped
        ? { outcome: stopped, usage: withThreads }
        : report ? { ...report, usage: withThreads } : { outcome: failure(crash), usage: emptyUsage };
      const done = (): void => {
        // Protected memory: the guest's input and output in the rings go with it.
        const observe = wipeObserver();
        // An enclave that reported has published and the host has read every byte it wrote (and its input ring
        // holds only what the host wrote): only the part of each ring they went through is zeroed.
        const whole = report === undefined || stopped !== undefined || crash !== undefined || threaded;
        const ringsNonZero = wipe(output.touched(whole), false) + wipe(input.touched(whole), false);
        observe?.({ guest: o.name, memoryBytes: report?.wiped?.memoryBytes ?? 0, memoryNonZero: (report?.wiped?.memoryNonZero ?? 0) + ringsNonZero,
          rings: [output.sab, input.sab] });
        if (reusable) {
          // Given back only now: the guest's output is delivered, and no stop came in the meantime.
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
          if (retire || stopped || crash) void worker.terminate();
          else giveBack(worker, report!.usage.enclaveThread?.guest ?? Infinity, reusable.heapBytes);
        }
        resolve(final);
      };
      void Promise.all([outputPump.close(), inputPump.settled()]).then(done, done);
    };
    /** The enclave's report said its thread may serve another guest. */
    let reusable: EnclaveReport['reusable'];
    const onMessage = (m: EnclaveReport | EnclaveMessage): void => {
      if ('kind' in m) {
        if (m.kind === 'threading') threaded = true;
        threads.onMessage(m);
        return;
      }
      report = m;
      // The report is the enclave's last word: its guest has ended, its files are closed and its memory wiped.
      if (config.reusable && m.reusable && !threaded) {
        reusable = m.reusable;
        void end();
      } else if (o.resolveOnReport && !threaded) {
        worker.unref();
        void end();
      }
    };
    const onError = (err: Error): void => { crash = err; };
    const onExit = (): void => {
      // A thread given back that dies before its output is delivered is not given back.
      retire = true;
      void end();
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.once('exit', onExit);
  });
}

function failure(err: Error | undefined): Outcome {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { kind: 'failed', cause: 'memory', message: 'the enclave ran out of host memory' };
  }
  return { kind: 'failed', cause: 'internal', message: err ? `enclave failed: ${err.message}` : 'enclave ended without a report' };
}

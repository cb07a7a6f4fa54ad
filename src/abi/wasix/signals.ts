// Signals of a WASIX guest. The guest registers one exported function
// (callback_signal, "__wasm_signal" for wasix-libc) that dispatches a signal
// to its own handlers; Capsule calls it when the guest raises a signal
// (thread_signal, proc_raise) or a timer of proc_raise_interval fires. With
// no such function, a signal takes its default action: ended with exit status
// 128+N, or ignored for those POSIX ignores by default. WASIX numbers signals
// as Linux does.
//
// wasix-libc "blocks" signals by naming a callback that does not exist, and
// carries out a default action itself: its handler prints a line and calls
// abort(), raising SIGABRT while blocked. A signal raised while blocked
// during the delivery of signal N therefore ends the guest as N, so that a
// signal with no handler ends it with 128+N, as on Linux.

import { Errno, SysError } from '../errno.js';
import { ProcSignal } from '../exit.js';

const NAMES = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1',
  'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP',
  'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGPOLL', 'SIGPWR', 'SIGSYS',
];
export const SIGNAL_COUNT = NAMES.length;

/** Ignored by default (CHLD, CONT, URG, WINCH), and job control, which has no meaning for a guest. */
const IGNORED_BY_DEFAULT = new Set([17, 18, 19, 20, 21, 22, 23, 28]);
/** Signals whose handler the guest cannot change. */
const UNCATCHABLE = new Set([9, 19]);

interface Timer {
  at: number;
  /** Milliseconds between repeats; 0: once. */
  every: number;
}

export class Signals {
  /** The guest's dispatch function, by export name (callback_signal). */
  private callbackName: string | undefined;
  private exports: WebAssembly.Exports | undefined;
  private readonly timers = new Map<number, Timer>();
  /** Signals whose delivery to the guest's callback is under way, innermost last. */
  private readonly delivering: number[] = [];
  /** Earliest timer, so the check on every call is one comparison. */
  nextTimer = Infinity;

  /** Gives the instance's exports once it exists (the callback is one of them). */
  attach(exports: WebAssembly.Exports): void {
    this.exports = exports;
  }

  setCallback(name: string): void {
    this.callbackName = name;
  }

  private handler(): ((sig: number) => void) | undefined {
    const f = this.callbackName === undefined ? undefined : this.exports?.[this.callbackName];
    return typeof f === 'function' ? (f as (sig: number) => void) : undefined;
  }

  /** Delivers `sig` now, in the guest's thread: its handler, or the default action. */
  raise(sig: number): void {
    if (!Number.isInteger(sig) || sig < 0 || sig >= SIGNAL_COUNT) throw new SysError(Errno.INVAL);
    if (sig === 0) return;
    const handler = UNCATCHABLE.has(sig) ? undefined : this.handler();
    if (handler) {
      this.delivering.push(sig);
      try {
        handler(sig);
      } finally {
        this.delivering.pop();
      }
      return;
    }
    if (IGNORED_BY_DEFAULT.has(sig)) return;
    const ending = this.callbackName !== undefined ? this.delivering.at(-1) ?? sig : sig;
    throw new ProcSignal(NAMES[ending]!, 128 + ending);
  }

  /** proc_raise_interval: `sig` after `ms` (again every `ms` if `repeat`); 0 cancels. */
  setTimer(sig: number, ms: number, repeat: boolean): void {
    if (!Number.isInteger(sig) || sig <= 0 || sig >= SIGNAL_COUNT) throw new SysError(Errno.INVAL);
    if (ms <= 0) this.timers.delete(sig);
    else this.timers.set(sig, { at: performance.now() + ms, every: repeat ? ms : 0 });
    this.nextTimer = Math.min(Infinity, ...[...this.timers.values()].map((t) => t.at));
  }

  /** Delivers the timers that are due (called at guest call boundaries and after waits). */
  fireDue(now = performance.now()): void {
    if (now < this.nextTimer) return;
    const due: number[] = [];
    for (const [sig, t] of this.timers) {
      if (t.at > now) continue;
      due.push(sig);
      if (t.every > 0) t.at = now + t.every;
      else this.timers.delete(sig);
    }
    this.nextTimer = Math.min(Infinity, ...[...this.timers.values()].map((t) => t.at));
    for (const sig of due) this.raise(sig);
  }
}

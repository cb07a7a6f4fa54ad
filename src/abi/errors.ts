// Turns whatever a layer call threw into the errno the guest gets back.
// Guest control flow (exit, signals, a stop by the enclave) passes through;
// an unexpected host exception never reaches the guest as anything but EIO.

import { Denial, SysError, Errno } from '../core/errno.js';
import { ProcExit, ProcSignal, ThreadExit } from './exit.js';
import { perGuest } from '../core/guest-scope.js';

/** Thrown by the enclave to stop a guest at once (a limit, a kill); never caught as an errno. */
export class GuestStop extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'GuestStop';
  }
}

const debug = process.env['CAPSULE_DEBUG'] === '1';

/** Where denials are reported (set once by the enclave; absent in tests). */
let onDenial: ((op: string, d: Denial) => void) | undefined;

export function setDenialHook(hook: (op: string, d: Denial) => void): void {
  onDenial = hook;
}
perGuest(() => { onDenial = undefined; });

/** The errno for `err`, thrown by guest call `op`; denials are reported first. */
export function errnoFor(err: unknown, op: string): number {
  if (err instanceof SysError) {
    if (err instanceof Denial) onDenial?.(op, err);
    return err.errno;
  }
  if (err instanceof ProcExit || err instanceof ProcSignal || err instanceof ThreadExit || err instanceof GuestStop) throw err;
  // A trap in guest code the call ran (a signal handler) is the guest's, not the host's.
  if (err instanceof WebAssembly.RuntimeError) throw err;
  if (err instanceof RangeError && /call stack/i.test(err.message)) throw err;
  if (debug) process.stderr.write(`capsule: unexpected host error in a guest call: ${(err as Error)?.stack ?? err}\n`);
  return Errno.IO;
}

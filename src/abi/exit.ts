// Guest control flow that is not an errno: the guest asked to end. Thrown
// through the guest's stack to unwind it and caught where the enclave runs
// `_start`; never returned to the guest.

export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`guest exited with ${code}`);
    this.name = 'ProcExit';
  }
}

/** The guest raised a signal whose default action ends the process. */
export class ProcSignal extends Error {
  constructor(readonly signal: string, readonly code: number) {
    super(`guest raised ${signal}`);
    this.name = 'ProcSignal';
  }
}

/**
 * The calling guest thread ends (thread_exit); the guest goes on if other
 * threads run. A ProcExit too: the last thread's exit is the process's.
 */
export class ThreadExit extends ProcExit {
  constructor(code: number) {
    super(code);
    this.name = 'ThreadExit';
  }
}

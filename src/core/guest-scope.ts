// State that belongs to one guest but lives at module level on its enclave
// thread (a hook set for the run, a small cache). An enclave thread may run
// guest after guest (enclave/pool.ts), so each such piece registers how it
// is let go, and the thread lets all of them go between two guests: nothing
// of one guest is reachable when the next one starts.

const resets: (() => void)[] = [];

/** Registers how a piece of per-guest module state is emptied (at module load). */
export function perGuest(reset: () => void): void {
  resets.push(reset);
}

/** Empties every registered piece: the guest of this thread has ended. */
export function endGuestScope(): void {
  for (const reset of resets) reset();
}

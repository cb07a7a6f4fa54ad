// One number per import an enclave provides, known to both sides: the
// enclave publishes the call it is in as a number in a control word, and the
// host names it (`capsule ps`: "blocked in fd_read").

import { PREVIEW1_NAMES } from './preview1/names.js';
import { WASI_THREADS_NAMES, WASIX_NAMES } from './wasix/names.js';

/** Index 0 means "no call"; the rest are the import names, preview1 first. */
export const CALL_NAMES: readonly string[] = ['', ...PREVIEW1_NAMES, ...WASIX_NAMES, ...WASI_THREADS_NAMES];

const numbers = new Map<string, number>();
CALL_NAMES.forEach((n, i) => { if (i > 0 && !numbers.has(n)) numbers.set(n, i); });

/** The number of an import, or 0 for one not in the list (a trapping unknown import). */
export function callNumber(name: string): number {
  return numbers.get(name) ?? 0;
}

export function callName(n: number): string | undefined {
  return n > 0 && n < CALL_NAMES.length ? CALL_NAMES[n] : undefined;
}

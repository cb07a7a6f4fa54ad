// Protected application memory: what a guest held (its linear memory, its
// stdio rings) is zeroed when it exits, is killed or has been sealed. The
// observer is a test-only hook: when set, the enclave also checks its memory
// after zeroing it, and the observer sees the counts and the rings.

export interface WipeReport {
  guest: string;
  /** Bytes of linear memory zeroed, and how many of them were found non-zero afterwards (0). */
  memoryBytes: number;
  memoryNonZero: number;
  /** The guest's stdio rings, as left after zeroing. */
  rings: SharedArrayBuffer[];
}

let observer: ((r: WipeReport) => void) | undefined;

/** Test-only: sees every wipe of a guest that ends from now on (undefined to stop). */
export function setWipeObserver(o: ((r: WipeReport) => void) | undefined): void {
  observer = o;
}

export function wipeObserver(): ((r: WipeReport) => void) | undefined {
  return observer;
}

/** Zeroes `bytes` and, if asked, counts the bytes still non-zero afterwards. */
export function wipe(bytes: Uint8Array, check: boolean): number {
  bytes.fill(0);
  if (!check) return 0;
  let nonZero = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) nonZero++;
  return nonZero;
}

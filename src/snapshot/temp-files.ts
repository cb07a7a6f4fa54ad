// The temporary files snapshots are written to before they are renamed into
// place (seal.ts), and their removal by the host when an enclave is stopped
// mid-seal. Apart from seal.ts so the host loads no cipher code for it.

import fs from 'node:fs';
import path from 'node:path';

export const TEMP_SUFFIX = '.partial';

/** Where this process's temporary files for `target` begin: beside it, hidden, named for it and the process. */
export function tempPrefix(target: string): string {
  const t = path.resolve(target);
  return path.join(path.dirname(t), `.${path.basename(t)}.${process.pid}.`);
}

/**
 * Removes what a seal into `target` by this process left unfinished: for the
 * host, when an enclave was stopped while it sealed (a thread stopped from
 * outside runs no exit hook of its own).
 */
export function removeUnfinishedFor(target: string): void {
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(prefix));
  } catch {
    return;
  }
  const start = path.basename(prefix);
  for (const n of names) {
    if (n.startsWith(start) && n.endsWith(TEMP_SUFFIX)) fs.rmSync(path.join(path.dirname(prefix), n), { force: true });
  }
}

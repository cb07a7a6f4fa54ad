// The temporary files snapshots are written to before they are renamed into
// place (seal.ts), their removal by the host when an enclave is stopped
// mid-seal, and of those a killed process left. Apart from seal.ts so the
// host loads no cipher code for it.

import fs from 'node:fs';
import path from 'node:path';
import { processAlive } from '../core/process-alive.js';

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

/**
 * Removes the temporary files for `target` that processes no longer running
 * left (a SIGKILL mid-seal runs no cleanup at all): the next seal into the
 * same name clears them. A live process's file is never touched.
 */
export function removeStaleFor(target: string): void {
  const t = path.resolve(target);
  const dir = path.dirname(t);
  const start = `.${path.basename(t)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(start) || !n.endsWith(TEMP_SUFFIX)) continue;
    const m = /^(\d+)\.[0-9a-f]{8}$/.exec(n.slice(start.length, -TEMP_SUFFIX.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !processAlive(pid)) fs.rmSync(path.join(dir, n), { force: true });
  }
}


// Preparing a module for suspension (binaryen's Asyncify pass) takes the
// thread that does it for a second or more. In a worker that thread also
// renews its jobs' locks and runs the other jobs: so the preparation runs on
// a thread of its own and lands in the preparation cache, where the run then
// finds it. Each module is prepared once per worker process.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

// From the CLI bundle (dist/bundle) the module tree is beside it; from the tree, this directory.
const THREAD_URL = [new URL('../src/fleet/prepare-worker.js', import.meta.url), new URL('./prepare-worker.js', import.meta.url)]
  .find((u) => fs.existsSync(fileURLToPath(u))) ?? new URL('./prepare-worker.js', import.meta.url);

const prepared = new Map<string, Promise<void>>();

/** Resolves once `bytes` (SHA-256 `sha`) is in the preparation cache; a failure is left for the run to report. */
export function prepareOffThread(bytes: Uint8Array, sha: string): Promise<void> {
  let p = prepared.get(sha);
  if (p === undefined) {
    p = new Promise<void>((resolve) => {
      const t = new Worker(THREAD_URL, { workerData: { bytes, sha } });
      t.once('message', () => resolve());
      t.once('error', () => resolve());
      t.once('exit', () => resolve());
    });
    prepared.set(sha, p);
    // A module that could not be prepared is tried again by the next job that names it.
    void p.then(() => { if (prepared.size > 1000) prepared.clear(); });
  }
  return p;
}

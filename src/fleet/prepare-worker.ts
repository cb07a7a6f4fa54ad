// The thread prepareOffThread() starts: prepares one module for suspension
// into the cache, then ends. A module that cannot be prepared is reported
// by the run itself, in its own words.

import { parentPort, workerData } from 'node:worker_threads';
import { prepareSuspendable } from '../module/suspendable.js';

const { bytes, sha } = workerData as { bytes: Uint8Array; sha: string };
try {
  await prepareSuspendable(bytes, sha, 'module');
  parentPort?.postMessage('prepared');
} catch {
  parentPort?.postMessage('failed');
}

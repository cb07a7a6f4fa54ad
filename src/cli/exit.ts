// The end of a `capsule run`: once the outcome is known and reported, the
// process exits as soon as what it wrote has reached its stdout and stderr,
// without waiting for the enclave thread's teardown (launch() left it
// unref'd and ending) or anything else Node would tidy up first.

import { answersSent } from '../api/answers-in-flight.js';
import { saveCodeCaches } from '../core/code-cache.js';

/** How long an exit waits for a control-socket answer under way (a suspension's) to reach its client. */
const ANSWER_WAIT_MS = 2000;

/** Resolves when `stream` holds no unwritten bytes (or can take none: closed, failed). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      if (stream.writableLength > 0 && !stream.destroyed) return;
      stream.off('drain', done); stream.off('close', done); stream.off('error', done);
      resolve();
    };
    stream.on('drain', done); stream.on('close', done); stream.on('error', done);
  });
}

/** Exits with process.exitCode once stdout, stderr and control answers under way are sent; a first run's code cache is written first. */
export async function exitWhenFlushed(): Promise<never> {
  saveCodeCaches();
  await Promise.all([flushed(process.stdout), flushed(process.stderr), answersSent(ANSWER_WAIT_MS)]);
  process.exit();
}

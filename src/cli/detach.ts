// `capsule up -d`: the system runs in a background process of its own (a new
// session, so closing the terminal does not stop it), and the command returns
// once that process says the system is up. The control socket is the handle:
// `capsule logs`, `capsule sockets` and `capsule stop` reach it by its pid.
// Until it is up, the background process's stderr comes here, so a mistake in
// the system file is the same one line and exit code as without -d.

import { spawn } from 'node:child_process';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

/** Set in the background process's environment: it runs the system rather than starting another. */
const CHILD_ENV = 'CAPSULE_UP_DETACHED';
/** Longest the command waits for the background system to come up (modules compiled, ports bound). */
const READY_TIMEOUT_MS = 60_000;

/** Whether this process is the background process of a `capsule up -d`. */
export function isDetachedChild(): boolean {
  return process.env[CHILD_ENV] === '1' && typeof process.send === 'function';
}

/** In the background process: tells the command that started it that the system is up (and what it publishes), and lets it go. */
export function reportReady(published: string[]): void {
  process.send?.({ ready: process.pid, published });
  process.disconnect?.();
}

/**
 * Starts this same command line again in the background and waits until it
 * is up (its pid) or has failed (its exit code; its stderr, which says why,
 * is passed on either way).
 */
export async function startDetached(): Promise<{ pid: number; published: string[] } | { code: number }> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => stderr.push(b));
  const outcome = await new Promise<{ pid: number; published: string[] } | { code: number | undefined }>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: undefined });
    }, READY_TIMEOUT_MS);
    child.on('message', (m: { ready?: unknown; published?: unknown }) => {
      if (typeof m?.ready !== 'number') return;
      clearTimeout(timer);
      const published = Array.isArray(m.published) ? m.published.filter((p): p is string => typeof p === 'string') : [];
      resolve({ pid: m.ready, published });
    });
    child.on('error', () => { clearTimeout(timer); resolve({ code: ExitCode.INTERNAL }); });
    // 'close' (not 'exit'): its stderr has been read to the end.
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? ExitCode.INTERNAL }); });
  });
  process.stderr.write(Buffer.concat(stderr));
  if ('code' in outcome) {
    if (outcome.code === undefined) throw new CapsuleError(ExitCode.UNAVAILABLE, `the system did not come up within ${READY_TIMEOUT_MS / 1000} s`);
    if (outcome.code === 0) throw new CapsuleError(ExitCode.INTERNAL, 'the background system ended before it was up');
    return { code: outcome.code };
  }
  // From here on it is on its own: later lines on its stderr go nowhere.
  child.stderr!.destroy();
  if (child.connected) child.disconnect();
  child.unref();
  return outcome;
}

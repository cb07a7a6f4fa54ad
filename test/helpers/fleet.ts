// Real fleet processes for tests: `capsule worker` and `capsule serve`
// started as child processes, each ready once it says so on stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, ROOT } from './cli.js';

export interface Proc {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  log(): string;
  /** The first match of `re` in stderr, once it appears. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGKILL unless it already exited. */
  kill(signal?: NodeJS.Signals): void;
}

export function startCapsule(args: string[], env?: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  let text = '';
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); for (const w of waiters) w(); });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => { for (const w of waiters) w(); resolve({ code, signal }); }));
  return {
    child,
    log: () => text,
    exited,
    waitFor: (re, timeoutMs = 20_000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out waiting for ${re} in:\n${text}`)); }, timeoutMs);
      const check = (): void => {
        const m = text.match(re);
        if (m) { clearTimeout(timer); waiters.delete(check); resolve(m); return; }
        if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer); waiters.delete(check); reject(new Error(`exited before ${re}:\n${text}`));
        }
      };
      waiters.add(check);
      check();
    }),
    kill: (signal = 'SIGKILL') => { if (child.exitCode === null && child.signalCode === null) child.kill(signal); },
  };
}

/** A worker on `url`, ready to take jobs. */
export async function startWorker(url: string, extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<Proc> {
  const w = startCapsule(['worker', '--redis', url, '--lock', '1s', ...extra], env);
  await w.waitFor(/worker (\S+) ready/);
  return w;
}

export const GUEST = (name: string): string => `${ROOT}/test/guests/${name}.wasm`;

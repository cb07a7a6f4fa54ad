// The one wrapper around every function a guest imports (preview 1 and
// WASIX): whatever a call throws becomes the errno the guest gets back
// (errors.ts), and with CAPSULE_TRACE=1 each call is logged with the guest's
// name, its arguments and its result. The functions themselves only decode,
// call the layer and encode.

import fs from 'node:fs';
import { errnoName } from '../core/errno.js';
import { escapeText } from '../audit/escape.js';
import { errnoFor } from './errors.js';

/** An imported function as the guest calls it: numbers and bigints in, an errno (or nothing) out. */
export type GuestFunction = (...args: never[]) => unknown;

type Loose = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown, g?: unknown, h?: unknown,
  i?: unknown, j?: unknown) => unknown;

/** The most parameters any preview 1 or WASIX function takes (path_open: 9). */
export const MAX_PARAMS = 10;

/**
 * `fn` as the guest gets it. The wrapper has fixed parameters (no rest
 * array per call) so it costs the hot path (fd_write, fd_read) next to
 * nothing; tracing, when asked for, is chosen here once, not per call.
 */
export function syscall(name: string, fn: GuestFunction, trace?: (line: string) => void): GuestFunction {
  const call = fn as Loose;
  if (fn.length > MAX_PARAMS) throw new Error(`${name} takes ${fn.length} parameters; syscall() passes at most ${MAX_PARAMS}`);
  if (trace) return traced(name, fn, trace);
  return ((a, b, c, d, e, f, g, h, i, j) => {
    try {
      return call(a, b, c, d, e, f, g, h, i, j);
    } catch (err) {
      return errnoFor(err, name);
    }
  }) as Loose as GuestFunction;
}

function traced(name: string, fn: GuestFunction, trace: (line: string) => void): GuestFunction {
  const call = fn as Loose;
  const arity = fn.length;
  return ((...args: unknown[]) => {
    const shown = args.slice(0, arity).map(String).join(', ');
    let result: unknown;
    try {
      result = call(...args);
    } catch (err) {
      result = errnoFor(err, name);
    } finally {
      // A call that ends the guest (proc_exit, a stop) is still logged.
      trace(`${name}(${shown}) -> ${result === undefined ? '(no return)' : describe(result)}`);
    }
    return result;
  }) as GuestFunction;
}

function describe(result: unknown): string {
  return typeof result === 'number' && result > 0 ? `${result} (E${errnoName(result)})` : String(result);
}

/** Where CAPSULE_TRACE=1 sends a guest's calls: stderr, each line naming the guest. */
export function traceFromEnv(guest: string): ((line: string) => void) | undefined {
  if (process.env['CAPSULE_TRACE'] !== '1') return undefined;
  // Written at once: a worker thread's process.stderr is asynchronous and loses lines at exit.
  return (line) => { fs.writeSync(2, `[capsule trace] ${escapeText(`${guest}: ${line}`)}\n`); };
}

/** Every function of an import module, wrapped. */
export function syscalls(fns: Record<string, GuestFunction>, trace?: (line: string) => void): Record<string, GuestFunction> {
  const out: Record<string, GuestFunction> = {};
  for (const [name, fn] of Object.entries(fns)) out[name] = syscall(name, fn, trace);
  return out;
}

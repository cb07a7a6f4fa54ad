// CAPSULE_TRACE=1: one line on stderr per guest call, of every import module
// (preview 1 and the WASIX socket calls alike), naming the guest, the module
// and the call, its arguments and its result. For debugging Capsule or a
// guest; the line is escaped, since arguments and names are the guest's.

import { escapeText } from '../audit/escape.js';

type Imports = Record<string, (...args: never[]) => unknown>;

export function tracing(): boolean {
  return process.env['CAPSULE_TRACE'] === '1';
}

/** `fns` with every call logged as `[capsule trace] GUEST: MODULE.NAME(ARGS) -> RESULT`. */
export function traced(guest: string, module: string, fns: Imports): Imports {
  const out: Imports = {};
  for (const [name, fn] of Object.entries(fns)) {
    out[name] = (...args: never[]) => {
      let result: unknown = '(no return)';
      try {
        result = (fn as (...a: never[]) => unknown)(...args);
        return result;
      } finally {
        process.stderr.write(`[capsule trace] ${escapeText(`${guest}: ${module}.${name}(${args.map(String).join(', ')}) -> ${String(result)}`)}\n`);
      }
    };
  }
  return out;
}

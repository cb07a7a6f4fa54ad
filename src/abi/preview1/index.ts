// The wasi_snapshot_preview1 import object: every function of the module,
// assembled from one file per group. CAPSULE_TRACE=1 logs each call.

import fs from 'node:fs';
import { escapeText } from '../../audit/escape.js';
import type { Preview1Context } from './context.js';
import { fdFunctions } from './fd.js';
import { pathFunctions } from './path.js';
import { pollFunctions } from './poll.js';
import { processFunctions } from './process.js';
import { sockFunctions } from './sock.js';

export { PREVIEW1_MODULE, PREVIEW1_NAMES } from './names.js';

type Imports = Record<string, (...args: never[]) => unknown>;

export function createPreview1(ctx: Preview1Context): Imports {
  const all: Imports = {
    ...processFunctions(ctx),
    ...fdFunctions(ctx),
    ...pathFunctions(ctx),
    ...pollFunctions(ctx),
    ...sockFunctions(ctx),
  };
  return process.env['CAPSULE_TRACE'] === '1' ? traced(all) : all;
}

/** `fns` logging each call with its arguments and result to stderr. */
export function traced(fns: Imports): Imports {
  const out: Imports = {};
  for (const [name, fn] of Object.entries(fns)) {
    out[name] = (...args: never[]) => {
      let result: unknown = '(no return)';
      try {
        result = (fn as (...a: never[]) => unknown)(...args);
        return result;
      } finally {
        // Written at once (a worker thread's process.stderr is asynchronous and loses lines at exit).
        fs.writeSync(2, `[capsule trace] ${escapeText(`${name}(${args.map(String).join(', ')}) -> ${String(result)}`)}\n`);
      }
    };
  }
  return out;
}

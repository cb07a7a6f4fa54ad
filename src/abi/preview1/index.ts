// The wasi_snapshot_preview1 import object: every function of the module,
// assembled from one file per group. (CAPSULE_TRACE: see abi/trace.ts.)

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
  return all;
}

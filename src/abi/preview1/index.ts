// The wasi_snapshot_preview1 import object: every function of the module,
// assembled from one file per group, each wrapped by syscall() (errnos,
// CAPSULE_TRACE).

import type { Preview1Context } from './context.js';
import { fdFunctions } from './fd.js';
import { flushingFirst } from '../flush-first.js';
import { pathFunctions } from './path.js';
import { pollFunctions } from './poll.js';
import { processFunctions } from './process.js';
import { sockFunctions } from './sock.js';
import { syscalls, type GuestFunction } from '../syscall.js';

export { PREVIEW1_MODULE, PREVIEW1_NAMES } from './names.js';

export function createPreview1(ctx: Preview1Context, trace?: (line: string) => void): Record<string, GuestFunction> {
  // Coalesced writes are written out first (flush-first.ts), inside the wrapper so a failure is an errno.
  return syscalls(flushingFirst({
    ...processFunctions(ctx),
    ...fdFunctions(ctx),
    ...pathFunctions(ctx),
    ...pollFunctions(ctx),
    ...sockFunctions(ctx),
  }, ctx.flushWrites), trace);
}

// The wasix_32v1 import object: every function Capsule provides of the
// module, assembled from one file per area, each wrapped by syscall()
// (errnos, CAPSULE_TRACE).

import { sockFunctions } from '../preview1/sock.js';
import { flushingFirst } from '../flush-first.js';
import { syscalls, type GuestFunction } from '../syscall.js';
import type { WasixContext } from './context.js';
import { wasixDescriptorFunctions } from './descriptors.js';
import { wasixEpollFunctions } from './epoll.js';
import { wasixPathFunctions } from './paths.js';
import { wasixProcessFunctions } from './process.js';
import { wasixSocketFunctions } from './sockets.js';
import { threadFunctions } from './threads.js';

export { WASIX_MODULE, WASIX_NAMES } from './names.js';

export function createWasix(ctx: WasixContext, trace?: (line: string) => void): Record<string, GuestFunction> {
  // Coalesced writes are written out first (flush-first.ts), inside the wrapper so a failure is an errno.
  return syscalls(flushingFirst({
    ...wasixSocketFunctions(ctx),
    ...sockFunctions(ctx),
    ...wasixProcessFunctions(ctx),
    ...wasixDescriptorFunctions(ctx),
    ...wasixPathFunctions(ctx),
    ...wasixEpollFunctions(ctx),
    ...threadFunctions(ctx.threads),
  }, ctx.flushWrites), trace);
}

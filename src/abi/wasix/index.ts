// The wasix_32v1 import object: the WASIX socket calls and the preview 1
// socket calls under their WASIX names, each wrapped by syscall() (errnos,
// CAPSULE_TRACE).

import { sockFunctions } from '../preview1/sock.js';
import { syscalls, type GuestFunction } from '../syscall.js';
import type { WasixContext } from './context.js';
import { wasixSocketFunctions } from './sockets.js';

export { WASIX_MODULE } from './sockets.js';

export function createWasix(ctx: WasixContext, trace?: (line: string) => void): Record<string, GuestFunction> {
  return syscalls({ ...wasixSocketFunctions(ctx), ...sockFunctions(ctx) }, trace);
}

// What the WASIX glue needs beyond preview 1's context.

import type { Preview1Context } from '../preview1/context.js';
import type { Family } from '../../core/net/address.js';
import type { NetCalls, SockType } from '../../layer/net/protocol.js';
import type { SocketDescriptor } from '../../layer/net/socket.js';
import type { WorkingDirectory } from '../../layer/fs/working-directory.js';
import type { Signals } from './signals.js';

import type { ThreadContext } from './thread-context.js';

export interface WasixContext extends Preview1Context {
  /** The calling guest thread's threads and futexes (threads.ts). */
  readonly threads: ThreadContext;
  readonly net: NetCalls;
  openSocket(fd: number, family: Family, type: SockType): SocketDescriptor;
  /** The guest's signal handling (callback, timers). */
  readonly signals: Signals;
  /** The guest's working directory (getcwd, chdir). */
  readonly cwd: WorkingDirectory;
}

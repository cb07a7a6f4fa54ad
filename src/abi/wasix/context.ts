// What the WASIX socket glue needs beyond preview 1's context.

import type { Preview1Context } from '../preview1/context.js';
import type { Family } from '../../core/net/address.js';
import type { NetCalls, SockType } from '../../layer/net/protocol.js';
import type { SocketDescriptor } from '../../layer/net/socket.js';

export interface WasixContext extends Preview1Context {
  readonly net: NetCalls;
  openSocket(fd: number, family: Family, type: SockType): SocketDescriptor;
}

// SOCKET OPTIONS (4824): what a socket may set, with the WASIX option
// numbers that name them. The owning enclave keeps the values it acts on
// (timeouts, blocking); the table keeps a copy for what it sizes and shows.

export interface SocketOptions {
  reuseAddr: boolean;
  reusePort: boolean;
  keepAlive: boolean;
  noDelay: boolean;
  broadcast: boolean;
  onlyV6: boolean;
  dontRoute: boolean;
  oobInline: boolean;
  multicastLoopV4: boolean;
  multicastLoopV6: boolean;
  /** Linger time in nanoseconds, or null when lingering is off. */
  linger: number | null;
  recvBufferSize: number;
  sendBufferSize: number;
  recvLowat: number;
  sendLowat: number;
  ttl: number;
  multicastTtlV4: number;
  /** Timeouts in nanoseconds, or null for none. */
  recvTimeout: number | null;
  sendTimeout: number | null;
  connectTimeout: number | null;
  acceptTimeout: number | null;
}

/** Default queue size per direction of a stream. */
export const DEFAULT_QUEUE_BYTES = 256 * 1024;
export const MIN_QUEUE_BYTES = 4 * 1024;
export const MAX_QUEUE_BYTES = 16 * 1024 * 1024;

export function defaultOptions(): SocketOptions {
  return {
    reuseAddr: false, reusePort: false, keepAlive: false, noDelay: false, broadcast: false,
    onlyV6: false, dontRoute: false, oobInline: false, multicastLoopV4: true, multicastLoopV6: true,
    linger: null, recvBufferSize: DEFAULT_QUEUE_BYTES, sendBufferSize: DEFAULT_QUEUE_BYTES,
    recvLowat: 1, sendLowat: 1, ttl: 64, multicastTtlV4: 1,
    recvTimeout: null, sendTimeout: null, connectTimeout: null, acceptTimeout: null,
  };
}

type Kind = 'flag' | 'time' | 'size';

/** WASIX sock_option number -> option name and how it is set. */
export const WASIX_OPTIONS: Record<number, { name: keyof SocketOptions; kind: Kind }> = {
  1: { name: 'reusePort', kind: 'flag' },
  2: { name: 'reuseAddr', kind: 'flag' },
  3: { name: 'noDelay', kind: 'flag' },
  4: { name: 'dontRoute', kind: 'flag' },
  5: { name: 'onlyV6', kind: 'flag' },
  6: { name: 'broadcast', kind: 'flag' },
  7: { name: 'multicastLoopV4', kind: 'flag' },
  8: { name: 'multicastLoopV6', kind: 'flag' },
  12: { name: 'keepAlive', kind: 'flag' },
  13: { name: 'linger', kind: 'time' },
  14: { name: 'oobInline', kind: 'flag' },
  15: { name: 'recvBufferSize', kind: 'size' },
  16: { name: 'sendBufferSize', kind: 'size' },
  17: { name: 'recvLowat', kind: 'size' },
  18: { name: 'sendLowat', kind: 'size' },
  19: { name: 'recvTimeout', kind: 'time' },
  20: { name: 'sendTimeout', kind: 'time' },
  21: { name: 'connectTimeout', kind: 'time' },
  22: { name: 'acceptTimeout', kind: 'time' },
  23: { name: 'ttl', kind: 'size' },
  24: { name: 'multicastTtlV4', kind: 'size' },
};

/** WASIX option numbers answered by reading the socket rather than an option. */
export const WASIX_OPTION = { LISTENING: 10, LAST_ERROR: 11, TYPE: 25, PROTO: 26 } as const;

/** The queue size a stream direction gets: the larger of the two ends' wishes, bounded. */
export function queueBytes(sendBuffer: number, recvBuffer: number, cap: number): number {
  const want = Math.min(Math.max(sendBuffer, recvBuffer, MIN_QUEUE_BYTES), MAX_QUEUE_BYTES, Math.max(cap, MIN_QUEUE_BYTES));
  let size = MIN_QUEUE_BYTES;
  while (size < want) size *= 2;
  return size;
}

// The guest's clocks. Realtime follows the host's wall clock at microsecond
// resolution; monotonic counts from an arbitrary origin at nanosecond
// resolution; CPU-time clocks report the process's CPU use.

import { Errno, SysError } from '../core/errno.js';
import { ClockId } from '../core/witx.js';

export interface Clocks {
  now(id: number): bigint;
  resolution(id: number): bigint;
}

function realtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

function cpuNs(): bigint {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
}

export const hostClocks: Clocks = {
  now(id: number): bigint {
    switch (id) {
      case ClockId.REALTIME: return realtimeNs();
      case ClockId.MONOTONIC: return process.hrtime.bigint();
      case ClockId.PROCESS_CPUTIME:
      case ClockId.THREAD_CPUTIME: return cpuNs();
      default: throw new SysError(Errno.INVAL, `unknown clock ${id}`);
    }
  },
  resolution(id: number): bigint {
    switch (id) {
      case ClockId.REALTIME: return 1000n;
      case ClockId.MONOTONIC: return 1n;
      case ClockId.PROCESS_CPUTIME:
      case ClockId.THREAD_CPUTIME: return 1000n;
      default: throw new SysError(Errno.INVAL, `unknown clock ${id}`);
    }
  },
};

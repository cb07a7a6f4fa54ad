// How a guest run ended, from what its code threw: an exit, a signal, a
// stop by the enclave, a link error, a trap (a trap at the memory limit is
// reported as the memory limit) or an internal failure.

import { Errno, errnoName } from '../core/errno.js';
import { GuestStop } from '../abi/errors.js';
import { ProcExit, ProcSignal, ThreadExit } from '../abi/exit.js';
import type { GuestMemory } from '../abi/memory.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { formatSize } from '../core/units.js';
import type { EnclaveConfig, Outcome } from './protocol.js';
import { describeTrap } from './traps.js';

export function outcomeOf(err: unknown, cfg: Pick<EnclaveConfig, 'mode' | 'limits'>, memory: GuestMemory): Outcome {
  if (err instanceof ProcExit) return { kind: 'exit', code: err.code };
  // The guest's last thread ended: the process ends with its status.
  if (err instanceof ThreadExit) return { kind: 'exit', code: err.code };
  // A snapshot that cannot be resumed (checked in the enclave as it is read).
  if (err instanceof CapsuleError) {
    return { kind: 'failed', cause: err.exitCode === ExitCode.SNAPSHOT_MISMATCH ? 'snapshot-mismatch' : 'snapshot', message: err.message };
  }
  if (err instanceof ProcSignal) return { kind: 'signal', signal: err.signal, code: err.code };
  if (err instanceof GuestStop) return { kind: 'limit', limit: err.reason, message: err.message };
  if (err instanceof WebAssembly.LinkError) return { kind: 'failed', cause: 'link', message: `cannot link the module: ${err.message}` };
  const trap = describeTrap(err);
  if (trap) {
    // A guest that traps with its memory at the limit almost surely failed to grow it (abort on OOM).
    // "At the limit": too close to it for the allocations a program typically makes at once.
    const slack = Math.max(2 * 65536, cfg.limits.memoryBytes / 16);
    const atLimit = cfg.mode === 'secure' && memory.attached && memory.size + slack > cfg.limits.memoryBytes;
    if (atLimit) {
      return { kind: 'limit', limit: 'memory', message: `memory limit of ${formatSize(cfg.limits.memoryBytes)} reached (the guest then trapped: ${trap})` };
    }
    return { kind: 'trap', message: trap };
  }
  if (err instanceof RangeError && /allocation|Array buffer/i.test(err.message)) {
    return { kind: 'failed', cause: 'memory', message: `the host could not allocate memory for the guest (${errnoName(Errno.NOMEM)})` };
  }
  return { kind: 'failed', cause: 'internal', message: `internal error: ${(err as Error)?.stack ?? String(err)}` };
}

// One thread of a threaded guest, on its own enclave thread: the module
// instantiated again over the guest's shared memory. Thread, futex, clock,
// random and exit calls are answered right here; every other call goes to
// the guest's service thread (call-forwarding.ts), which holds the
// descriptor table, sockets and stdio, so all threads see one system.

import { parentPort } from 'node:worker_threads';
import { errnoName } from '../core/errno.js';
import { setDenialHook } from '../abi/errors.js';
import { ProcExit, ThreadExit } from '../abi/exit.js';
import { GuestMemory } from '../abi/memory.js';
import { boundText } from '../audit/escape.js';
import { pollFunctions } from '../abi/preview1/poll.js';
import { processFunctions } from '../abi/preview1/process.js';
import { PREVIEW1_MODULE } from '../abi/preview1/names.js';
import { WASI_THREADS_MODULE, WASI_THREADS_NAMES, WASIX_MODULE, WASIX_THREAD_NAMES } from '../abi/wasix/names.js';
import { threadFunctions } from '../abi/wasix/threads.js';
import { syscalls } from '../abi/syscall.js';
import { wasiThreadsFunctions } from '../abi/wasix/wasi-threads.js';
import { Layout } from '../core/witx.js';
import { randomFill } from '../host/random.js';
import { hostClocks } from '../layer/clocks.js';
import { FdTable } from '../layer/fdtable.js';
import { CallMailbox, type ImportFunction } from './call-forwarding.js';
import { threadContext } from './guest-threads.js';
import { outcomeOf } from './outcome.js';
import { threadCpuMs } from './thread-cpu.js';
import { Control, type EnclaveMessage, type GuestThreadConfig, type Outcome } from './protocol.js';
import { MAIN_TID, ThreadTable } from './thread-table.js';

/** Calls of wasi_snapshot_preview1 a thread answers itself: they touch no shared state. */
const LOCAL_PREVIEW1 = new Set(['clock_time_get', 'clock_res_get', 'random_get', 'sched_yield', 'proc_exit']);
const MEMORY_IMPORT = { module: 'env', name: 'memory' };

/** The function imports of `module`, numbered as the service numbers them (call-forwarding.ts). */
export function functionImports(module: WebAssembly.Module): { module: string; name: string }[] {
  return WebAssembly.Module.imports(module).filter((i) => i.kind === 'function').map(({ module, name }) => ({ module, name }));
}

/** Whether a module can start threads (it imports a spawn call). */
export function importsSpawn(module: WebAssembly.Module): boolean {
  return functionImports(module).some((i) => (i.module === WASI_THREADS_MODULE && WASI_THREADS_NAMES.has(i.name)) ||
    (i.module === WASIX_MODULE && i.name === 'thread_spawn_v2'));
}

export function runGuestThread(cfg: GuestThreadConfig, post: (m: EnclaveMessage) => void): void {
  const { tid, slot, arg } = cfg.start;
  const control = new Int32Array(cfg.control);
  const table = new ThreadTable(cfg.threads);
  const mailbox = new CallMailbox(cfg.calls, control);
  const memory = new GuestMemory();
  memory.callBytes = cfg.limits.callBytes;
  memory.attach(cfg.memory);
  // Denials made here (--max-threads) reach the audit log through the host.
  setDenialHook((op, d) => post({ kind: 'denial', line: JSON.stringify({ op, target: boundText(d.target ?? ''), decision: d.decision,
    reason: boundText(d.reason), errno: errnoName(d.errno) }) }));

  const threads = threadContext({
    memory: () => cfg.memory, guestMemory: memory, tid, table,
    start: (newTid, newSlot, newArg) => post({ kind: 'spawn', tid: newTid, slot: newSlot, arg: newArg }),
  });
  // Clocks, randomness, exit and sleeping need nothing from the service.
  const local = {
    memory, fds: new FdTable(0), args: [], env: [], clocks: hostClocks, randomFill,
    eventEpoch: () => 0,
    waitForEvents: (_seen: number, timeoutMs: number) => threads.sleep(timeoutMs),
  };
  // Through the one wrapper, as on the service: what a call throws becomes its errno.
  const processFns = syscalls(processFunctions(local)) as Record<string, ImportFunction>;
  const localPoll = syscalls(pollFunctions(local)).poll_oneoff as ImportFunction;
  const threadFns = syscalls(threadFunctions(threads)) as Record<string, ImportFunction>;
  const spawnFns = wasiThreadsFunctions(threads) as Record<string, ImportFunction>;
  const trapping = new Set(cfg.trappingImports.map((i) => `${i.module}.${i.name}`));
  const ring = (): void => {
    Atomics.add(control, Control.CALLS, 1);
    Atomics.notify(control, Control.CALLS);
    // A service waiting inside a call (for a socket, a poll) serves calls too.
    Atomics.add(control, Control.EPOCH, 1);
    Atomics.notify(control, Control.EPOCH);
  };

  const imports: Record<string, Record<string, unknown>> = { [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: cfg.memory } };
  functionImports(cfg.module).forEach(({ module, name }, index) => {
    const forward = mailbox.forwarder(slot, index, ring);
    let fn: ImportFunction = forward;
    if (trapping.has(`${module}.${name}`)) {
      fn = () => { throw new WebAssembly.RuntimeError(`called unknown import ${module}.${name}`); };
    } else if (module === WASI_THREADS_MODULE && WASI_THREADS_NAMES.has(name)) fn = spawnFns[name]!;
    else if (module === WASIX_MODULE && WASIX_THREAD_NAMES.has(name)) fn = threadFns[name]!;
    else if (module === PREVIEW1_MODULE && LOCAL_PREVIEW1.has(name)) fn = processFns[name]!;
    else if (module === PREVIEW1_MODULE && name === 'poll_oneoff') {
      // A poll of clocks only is a sleep: it need not hold up the service.
      fn = (inPtr, outPtr, nsubs, neventsPtr) => clocksOnly(memory, inPtr as number, nsubs as number)
        ? localPoll(inPtr, outPtr, nsubs, neventsPtr) : forward(inPtr, outPtr, nsubs, neventsPtr);
    }
    (imports[module] ??= {})[name] = fn;
  });

  let outcome: Outcome | undefined;
  try {
    const instance = new WebAssembly.Instance(cfg.module, imports as WebAssembly.Imports);
    if (tid === MAIN_TID) {
      (instance.exports['_start'] as () => void)();
      // Returning from main ends the process, whatever other threads still run.
      outcome = { kind: 'exit', code: 0 };
    } else {
      const start = instance.exports['wasi_thread_start'];
      if (typeof start !== 'function') throw new WebAssembly.LinkError('the module starts threads but exports no wasi_thread_start function');
      (start as (tid: number, arg: number) => void)(tid, arg);
    }
  } catch (err) {
    // thread_exit ends this thread only; proc_exit, traps and stops end the guest.
    if (!(err instanceof ThreadExit)) outcome = err instanceof ProcExit ? { kind: 'exit', code: err.code } : outcomeOf(err, cfg, memory);
  }
  table.release(slot);
  const cpuMs = threadCpuMs();
  post({ kind: 'thread-end', tid, ...(outcome ? { outcome } : {}), ...(cpuMs !== undefined ? { cpuMs } : {}) });
}

/** Whether every subscription of a poll_oneoff call is a clock (unreadable ones are left to the service to refuse). */
function clocksOnly(m: GuestMemory, inPtr: number, nsubs: number): boolean {
  const S = Layout.subscription;
  try {
    if (nsubs >>> 0 === 0 || nsubs >>> 0 > 4096) return false;
    m.check(inPtr, (nsubs >>> 0) * S.size);
    for (let i = 0; i < nsubs >>> 0; i++) if (m.u8(inPtr + i * S.size + S.tag) !== 0) return false;
    return true;
  } catch {
    return false;
  }
}

// Started from worker.ts when the thread's config says it is a guest thread.
export function serveGuestThread(cfg: GuestThreadConfig): void {
  runGuestThread(cfg, (m) => parentPort!.postMessage(m));
}

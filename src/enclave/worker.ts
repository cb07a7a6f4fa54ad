// The enclave: one guest's thread. It builds the guest's view of the system
// (descriptor table, mounts, stdio and sockets over shared memory),
// instantiates the module with the ABI glue, runs `_start` and reports how it
// ended. Calls that need no shared state are served right here, on this
// thread; the rest go to the layer (rpc.ts). A threaded guest runs each of its
// threads on an enclave thread of its own (guest-thread.ts); this thread then
// holds its system view and answers the calls they forward.

import { parentPort } from 'node:worker_threads';
import { errnoName } from '../abi/errno.js';
import { GuestStop, setDenialHook } from '../abi/errors.js';
import { boundText } from '../audit/escape.js';
import { GuestMemory, encodeUtf8 } from '../abi/memory.js';
import { createPreview1, PREVIEW1_MODULE } from '../abi/preview1/index.js';
import type { WasixContext } from '../abi/wasix/context.js';
import { createWasix, WASIX_MODULE } from '../abi/wasix/index.js';
import { Signals } from '../abi/wasix/signals.js';
import { WorkingDirectory } from '../layer/fs/working-directory.js';
import { DIRECTORY_RIGHTS, FILE_RIGHTS, READ_ONLY_INHERITING, WRITE_RIGHTS } from '../abi/witx.js';
import { HostDir } from '../host/fs.js';
import { randomFill } from '../host/random.js';
import { hostClocks } from '../layer/clocks.js';
import { FdTable } from '../layer/fdtable.js';
import type { DirNode } from '../layer/fs/backend.js';
import { DirectoryDescriptor, type IoCounters } from '../layer/fs/directory.js';
import { Listings } from '../layer/fs/listing.js';
import { MemDir } from '../layer/fs/memfs.js';
import type { EnclaveEvents, NetRequest, SocketContext } from '../layer/net/protocol.js';
import { SocketDescriptor } from '../layer/net/socket.js';
import { Ring } from '../layer/ring.js';
import { InputStream, OutputStream } from '../layer/stdio.js';
import { formatSize } from '../policy/units.js';
import { MEMORY_IMPORT } from '../module/imported-memory.js';
import { AUDIT_FD, Control, type EnclaveConfig, type EnclaveMessage, type EnclaveReport, type GuestThreadConfig, type Outcome, type Usage } from './protocol.js';
import { CallMailbox, type ImportFunction } from './call-forwarding.js';
import { functionImports, importsSpawn, serveGuestThread } from './guest-thread.js';
import { threadContext } from './guest-threads.js';
import { outcomeOf } from './outcome.js';
import { threadCpuMs } from './thread-cpu.js';
import { MAIN_TID, ThreadTable } from './thread-table.js';
import { WASI_THREADS_MODULE } from '../abi/wasix/names.js';
import { wasiThreadsFunctions } from '../abi/wasix/wasi-threads.js';
import { LayerClient } from './layer-client.js';
import { InputReader, OutputWriter } from './guest-stdio.js';

function run(cfg: EnclaveConfig): EnclaveReport {
  const started = performance.now();
  let waited = 0;
  const memory = new GuestMemory();
  memory.callBytes = cfg.limits.callBytes;
  const control = new Int32Array(cfg.control);
  const fds = new FdTable(cfg.limits.maxFds);
  const mountCounters = new Map<string, IoCounters>();
  const sockets: SocketContext['usage'] = { peers: new Map(), socketsOpened: 0 };
  const usage = (): Usage => ({
    files: Object.fromEntries([...mountCounters].map(([k, c]) => [k, { read: c.read, written: c.written }])),
    network: { peers: Object.fromEntries(sockets.peers), socketsOpened: sockets.socketsOpened },
    peakMemory: memory.attached ? memory.size : 0,
    cpuMs: threadCpuMs() ?? performance.now() - started - waited,
  });

  const out = new OutputWriter(new Ring(cfg.output), control);
  // Denials travel to the host's audit log in the output ring, in order with the output;
  // bounded here already, so a 16 MiB path never crosses as a 16 MiB line.
  setDenialHook((op, d) => {
    const line = JSON.stringify({ op, target: boundText(d.target ?? ''), decision: d.decision, reason: boundText(d.reason), errno: errnoName(d.errno) });
    try { out.write(AUDIT_FD, [encodeUtf8(line + '\n')]); } catch { /* host gone */ }
  });
  fds.set(0, new InputStream(new InputReader(new Ring(cfg.input)), cfg.terminals.stdin));
  fds.set(1, new OutputStream(out, 1, cfg.terminals.stdout));
  fds.set(2, new OutputStream(out, 2, cfg.terminals.stderr));

  const listings = new Listings();
  const roots: DirectoryDescriptor[] = [];
  try {
    for (const mount of cfg.mounts) {
      const node: DirNode = mount.hostPath !== undefined
        ? HostDir.openRoot(mount.hostPath, mount.readOnly, mount.guestPath)
        : MemDir.create(mount.tmpfsBytes ?? 0, mount.guestPath);
      const counters: IoCounters = { read: 0, written: 0 };
      mountCounters.set(mount.guestPath, counters);
      const root = mount.readOnly
        ? new DirectoryDescriptor(node, DIRECTORY_RIGHTS & ~WRITE_RIGHTS, READ_ONLY_INHERITING, mount.guestPath, counters, listings)
        : new DirectoryDescriptor(node, DIRECTORY_RIGHTS, DIRECTORY_RIGHTS | FILE_RIGHTS, mount.guestPath, counters, listings);
      if (mount.readOnly) root.readOnlyMount = mount.guestPath;
      fds.add(root);
      roots.push(root);
    }
  } catch (err) {
    return { outcome: { kind: 'failed', cause: 'mount', message: `cannot open a mount: ${(err as Error).message}` }, usage: usage() };
  }

  let serveNested: (() => void) | undefined;
  const net = new LayerClient<NetRequest>(cfg.layerPort, control);
  const signals = new Signals();
  const events: EnclaveEvents = {
    epoch: () => Atomics.load(control, Control.EPOCH),
    wait: (seen, timeoutMs) => {
      // A signal timer due before the wait would end cuts it short, and is delivered then.
      const untilTimer = signals.nextTimer - performance.now();
      const wait = Math.min(timeoutMs, untilTimer);
      if (wait > 0) {
        const t = performance.now();
        Atomics.wait(control, Control.EPOCH, seen, wait === Infinity ? undefined : wait);
        waited += performance.now() - t;
      }
      signals.fireDue();
      // The service of a threaded guest answers other threads' calls while one waits.
      serveNested?.();
    },
  };
  const socketContext: SocketContext = { net, events, usage: sockets };
  // Single-threaded, the guest runs here: its thread calls are answered by a one-thread context
  // that sleeps in the enclave's own waits (signal timers fire there).
  let wasmMemory: WebAssembly.Memory | undefined;
  const threads = threadContext({
    memory: () => wasmMemory, guestMemory: memory, tid: MAIN_TID,
    sleep: (ms) => {
      const until = performance.now() + ms;
      for (let left = ms; left > 0; left = until - performance.now()) events.wait(events.epoch(), left);
    },
  });
  const ctx: WasixContext = {
    threads,
    memory,
    fds,
    args: cfg.args.map(encodeUtf8),
    env: cfg.env.map(encodeUtf8),
    clocks: hostClocks,
    randomFill,
    eventEpoch: events.epoch,
    waitForEvents: events.wait,
    net,
    openSocket: (fd, family, type) => SocketDescriptor.open(socketContext, fd, family, type),
    signals,
    cwd: new WorkingDirectory(roots),
  };
  // A guest that imports its memory gets one made from its declared limits (capped in secure mode).
  let importedMemory: WebAssembly.Memory | undefined;
  if (cfg.importedMemory) {
    try {
      importedMemory = new WebAssembly.Memory(cfg.importedMemory);
    } catch (err) {
      return { outcome: { kind: 'failed', cause: 'memory', message: `cannot create the guest's memory: ${(err as Error).message}` }, usage: usage() };
    }
  }
  // A guest that imports a shared memory and a spawn call runs each of its threads (main included)
  // on an enclave thread of its own; this one then serves their calls (guest-thread.ts).
  const threaded = importedMemory?.buffer instanceof SharedArrayBuffer && importsSpawn(cfg.module);
  wasmMemory = importedMemory;
  const imports: WebAssembly.Imports = {
    [PREVIEW1_MODULE]: withSignalTimers(createPreview1(ctx), signals),
    [WASIX_MODULE]: withSignalTimers(createWasix(ctx), signals),
    [WASI_THREADS_MODULE]: wasiThreadsFunctions(threads),
  };
  if (importedMemory) imports[MEMORY_IMPORT.module] = { [MEMORY_IMPORT.name]: importedMemory };
  for (const { module, name } of cfg.trappingImports) {
    const ns = (imports[module] ??= {}) as Record<string, unknown>;
    ns[name] = () => {
      throw new WebAssembly.RuntimeError(`called unknown import ${module}.${name}`);
    };
  }

  let outcome: Outcome;
  try {
    if (threaded) {
      memory.attach(importedMemory!);
      checkStartMemory(cfg, memory);
      outcome = serveThreads(cfg, control, importedMemory!, imports, (serve) => { serveNested = serve; });
    } else {
      const instance = new WebAssembly.Instance(cfg.module, imports);
      const mem = importedMemory ?? instance.exports['memory'];
      if (!(mem instanceof WebAssembly.Memory)) {
        return { outcome: { kind: 'failed', cause: 'link', message: 'module does not export its memory as "memory"' }, usage: usage() };
      }
      memory.attach(mem);
      wasmMemory = mem;
      signals.attach(instance.exports);
      checkStartMemory(cfg, memory);
      (instance.exports['_start'] as () => void)();
      outcome = { kind: 'exit', code: 0 };
    }
  } catch (err) {
    outcome = outcomeOf(err, cfg, memory);
  }

  const report = { outcome, usage: usage() };
  fds.closeAll();
  cfg.layerPort.close();
  // Protected application memory: nothing the guest held outlives it. A threaded guest's
  // memory is wiped by the host once its threads are gone (thread-host.ts), not under them.
  if (cfg.mode === 'secure' && memory.attached && !threaded) memory.slice(0, memory.size).fill(0);
  return report;
}

/** A precompiled module could not be capped before compiling: its memory is checked at start. */
function checkStartMemory(cfg: EnclaveConfig, memory: GuestMemory): void {
  if (cfg.mode === 'secure' && memory.size > cfg.limits.memoryBytes) {
    throw new GuestStop('memory', `the module needs ${formatSize(memory.size)} of memory at start, over its limit of ${formatSize(cfg.limits.memoryBytes)}`);
  }
}

/**
 * Delivers signal timers that fell due during a call when it returns, as a
 * kernel does on the way back to user space; one comparison when none is set.
 */
function withSignalTimers(fns: Record<string, (...args: never[]) => unknown>, signals: Signals): Record<string, (...args: never[]) => unknown> {
  const out: Record<string, (...args: never[]) => unknown> = {};
  for (const [name, fn] of Object.entries(fns)) {
    out[name] = (...args: never[]) => {
      const result = fn(...args);
      if (signals.nextTimer !== Infinity) signals.fireDue();
      return result;
    };
  }
  return out;
}

/**
 * The service of a threaded guest: starts its main thread, then answers the
 * calls its threads forward until the host says the guest has ended (or a
 * call ends it: an exit, a signal, a trap).
 */
function serveThreads(cfg: EnclaveConfig, control: Int32Array, shared: WebAssembly.Memory, imports: WebAssembly.Imports,
  onServe: (serve: () => void) => void): Outcome {
  const table = ThreadTable.create(cfg.limits.maxThreads);
  const mailbox = CallMailbox.create(cfg.limits.maxThreads, control);
  const fns = functionImports(cfg.module).map(({ module, name }) =>
    (imports[module] as Record<string, ImportFunction> | undefined)?.[name] as ImportFunction);
  const finished = (): boolean => Atomics.load(control, Control.FINISH) !== 0;
  onServe(() => {
    if (finished()) throw new GuestStop('finish', 'the guest has ended');
    mailbox.serve(fns);
  });
  const post = (m: EnclaveMessage): void => parentPort!.postMessage(m);
  post({ kind: 'threading', memory: shared, threads: table.sab, calls: mailbox.sab });
  post({ kind: 'spawn', tid: MAIN_TID, slot: 0, arg: 0 });
  while (!finished()) {
    const seen = Atomics.load(control, Control.CALLS);
    mailbox.serve(fns);
    Atomics.wait(control, Control.CALLS, seen);
  }
  // The host ended the guest and decides how it ended.
  return { kind: 'exit', code: 0 };
}

// The thread may be started before its guest is known (see pool.ts): it waits for its one config.
parentPort!.once('message', (cfg: EnclaveConfig | GuestThreadConfig) => {
  if ('kind' in cfg) serveGuestThread(cfg);
  else parentPort!.postMessage(run(cfg));
  parentPort!.close();
});

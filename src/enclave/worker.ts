// The enclave: one guest's thread. It builds the guest's view of the system
// (descriptor table, mounts, stdio and sockets over shared memory),
// instantiates the module with the ABI glue, runs `_start` and reports how it
// ended. Calls that need no shared state are served right here, on this
// thread; the rest go to the layer (rpc.ts).

import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Errno, errnoName } from '../abi/errno.js';
import { GuestStop, setDenialHook } from '../abi/errors.js';
import { boundText } from '../audit/escape.js';
import { ProcExit, ProcSignal } from '../abi/exit.js';
import { GuestMemory, encodeUtf8 } from '../abi/memory.js';
import { createPreview1, PREVIEW1_MODULE } from '../abi/preview1/index.js';
import { sockFunctions } from '../abi/preview1/sock.js';
import type { WasixContext } from '../abi/wasix/context.js';
import { WASIX_MODULE, wasixSocketFunctions } from '../abi/wasix/sockets.js';
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
import { AUDIT_FD, Control, type EnclaveConfig, type EnclaveReport, type Outcome, type Usage } from './protocol.js';
import { LayerClient } from './layer-client.js';
import { InputReader, OutputWriter } from './guest-stdio.js';
import { describeTrap } from './traps.js';
import { Activity } from '../lifecycle/activity.js';
import { setSleeper } from '../layer/ring-wait.js';

/** CPU time of this thread, from the kernel (Linux), in ms. */
function threadCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the file, in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

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

  const activity = new Activity(control, () => ({ pages: memory.attached ? memory.size / 65536 : 0, descriptors: fds.size }));
  setSleeper((sleep) => activity.asleep(sleep));
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
    }
  } catch (err) {
    return { outcome: { kind: 'failed', cause: 'mount', message: `cannot open a mount: ${(err as Error).message}` }, usage: usage() };
  }

  const net = new LayerClient<NetRequest>(cfg.layerPort, control);
  const events: EnclaveEvents = {
    epoch: () => Atomics.load(control, Control.EPOCH),
    wait: (seen, timeoutMs) => {
      if (timeoutMs <= 0) return;
      const t = performance.now();
      activity.asleep(() => Atomics.wait(control, Control.EPOCH, seen, timeoutMs === Infinity ? undefined : timeoutMs));
      waited += performance.now() - t;
    },
  };
  const socketContext: SocketContext = { net, events, usage: sockets };
  const ctx: WasixContext = {
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
  };
  const imports: WebAssembly.Imports = {
    [PREVIEW1_MODULE]: createPreview1(ctx),
    [WASIX_MODULE]: { ...wasixSocketFunctions(ctx), ...sockFunctions(ctx) },
  };
  for (const { module, name } of cfg.trappingImports) {
    const ns = (imports[module] ??= {}) as Record<string, unknown>;
    ns[name] = () => {
      throw new WebAssembly.RuntimeError(`called unknown import ${module}.${name}`);
    };
  }

  let outcome: Outcome;
  try {
    const instance = new WebAssembly.Instance(cfg.module, activity.wrap(imports as Record<string, Record<string, unknown>>) as WebAssembly.Imports);
    const mem = instance.exports['memory'];
    if (!(mem instanceof WebAssembly.Memory)) {
      return { outcome: { kind: 'failed', cause: 'link', message: 'module does not export its memory as "memory"' }, usage: usage() };
    }
    memory.attach(mem);
    activity.publish();
    // A precompiled module could not be capped before compiling: check it now.
    if (cfg.mode === 'secure' && memory.size > cfg.limits.memoryBytes) {
      throw new GuestStop('memory', `the module needs ${formatSize(memory.size)} of memory at start, over its limit of ${formatSize(cfg.limits.memoryBytes)}`);
    }
    (instance.exports['_start'] as () => void)();
    outcome = { kind: 'exit', code: 0 };
  } catch (err) {
    outcome = outcomeOf(err, cfg, memory);
  }

  const report = { outcome, usage: usage() };
  fds.closeAll();
  cfg.layerPort.close();
  // Protected application memory: nothing the guest held outlives it.
  if (cfg.mode === 'secure' && memory.attached) memory.slice(0, memory.size).fill(0);
  return report;
}

function outcomeOf(err: unknown, cfg: EnclaveConfig, memory: GuestMemory): Outcome {
  if (err instanceof ProcExit) return { kind: 'exit', code: err.code };
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

// The thread may be started before its guest is known (see pool.ts): it waits for its one config.
parentPort!.once('message', (cfg: EnclaveConfig) => {
  parentPort!.postMessage(run(cfg));
  parentPort!.close();
});

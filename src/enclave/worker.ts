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
import { ClockId } from '../abi/witx.js';
import type { Clocks } from '../layer/clocks.js';
import type { SealedGuestState } from '../snapshot/payload.js';
import { Suspender } from './suspender.js';
import { CapsuleError } from '../api/errors.js';
import { ResumedInput } from './resumed-input.js';
import { wipe } from './wipe.js';
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

async function run(cfg: EnclaveConfig): Promise<EnclaveReport> {
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
  const susp = cfg.suspendable;
  const suspender = susp ? new Suspender(control, susp.port, () => {
    // Files and sockets are not carried yet: a guest holding one is not suspended (and goes on).
    const held = fds.numbers().filter((fd) => fd > 2 + cfg.mounts.length);
    return held.length > 0 ? `the guest has descriptor${held.length === 1 ? '' : 's'} ${held.join(', ')} open (files and sockets do not travel in a snapshot)` : undefined;
  }) : undefined;
  // A guest that sleeps in a call is woken by a suspension request, and the call unwinds (it is made again on resume).
  const sleep = suspender
    ? <T>(f: () => T): T => { suspender.checkpoint(); const r = activity.asleep(f); suspender.checkpoint(); return r; }
    : <T>(f: () => T): T => activity.asleep(f);
  setSleeper(sleep);
  const out = new OutputWriter(new Ring(cfg.output), control);
  // Denials travel to the host's audit log in the output ring, in order with the output;
  // bounded here already, so a 16 MiB path never crosses as a 16 MiB line.
  setDenialHook((op, d) => {
    const line = JSON.stringify({ op, target: boundText(d.target ?? ''), decision: d.decision, reason: boundText(d.reason), errno: errnoName(d.errno) });
    try { out.write(AUDIT_FD, [encodeUtf8(line + '\n')]); } catch { /* host gone */ }
  });
  const inputRing = new Ring(cfg.input);
  const input = new InputReader(inputRing);
  // Filled from the snapshot before the guest runs again.
  let pendingInput = new Uint8Array(0);
  fds.set(0, new InputStream(suspender ? { read: (b, nb) => stdinSource.read(b, nb), readiness: () => stdinSource.readiness() } : input, cfg.terminals.stdin));
  let stdinSource: import('../layer/stdio.js').StreamSource = input;
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
      sleep(() => Atomics.wait(control, Control.EPOCH, seen, timeoutMs === Infinity ? undefined : timeoutMs));
      waited += performance.now() - t;
    },
  };
  // Monotonic time continues across a suspension from where it was (the offset is set on resume).
  let monotonicOffset = 0n;
  const clocks: Clocks = suspender ? {
    now: (id) => (id === ClockId.MONOTONIC ? hostClocks.now(id) + monotonicOffset : hostClocks.now(id)),
    resolution: (id) => hostClocks.resolution(id),
  } : hostClocks;
  const socketContext: SocketContext = { net, events, usage: sockets };
  const ctx: WasixContext = {
    memory,
    fds,
    args: cfg.args.map(encodeUtf8),
    env: cfg.env.map(encodeUtf8),
    clocks,
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
    const provided = imports as Record<string, Record<string, unknown>>;
    const instance = new WebAssembly.Instance(cfg.module, activity.wrap(suspender ? suspender.wrap(provided) : provided) as WebAssembly.Imports);
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
    if (suspender) {
      suspender.attach(instance, mem);
      if (susp!.resumeFrom !== undefined) {
        const state = await restore(susp!.resumeFrom, susp!.sealKey, mem);
        monotonicOffset = BigInt(state.monotonicNs) - hostClocks.now(ClockId.MONOTONIC);
        pendingInput = Buffer.from(state.pendingInput, 'base64');
        stdinSource = new ResumedInput(pendingInput, input);
        suspender.rewind(state);
        suspender.answer({ resumed: true });
      }
    }
    (instance.exports['_start'] as () => void)();
    outcome = suspender?.unwound ? await seal(cfg, suspender, mem, clocks, inputRing, pendingInput) : { kind: 'exit', code: 0 };
  } catch (err) {
    outcome = outcomeOf(err, cfg, memory);
  }

  const report: EnclaveReport = { outcome, usage: usage() };
  fds.closeAll();
  cfg.layerPort.close();
  // Protected application memory: nothing the guest held outlives it (a sealed guest's, after sealing).
  if ((cfg.mode === 'secure' || susp) && memory.attached) {
    const nonZero = wipe(memory.slice(0, memory.size), cfg.checkWipe === true);
    if (cfg.checkWipe) report.wiped = { memoryBytes: memory.size, memoryNonZero: nonZero };
  }
  susp?.sealKey.fill(0);
  return report;
}

/** Memory, globals and stack of the snapshot in `file`, put back into `mem`: every byte read and authenticated before the guest runs. */
async function restore(file: string, key: Uint8Array, mem: WebAssembly.Memory): Promise<SealedGuestState> {
  // Loaded on use (node:crypto among them): a guest that is not resumed or sealed starts without them.
  const { SnapshotReader } = await import('../snapshot/unseal.js');
  const { PAGE, PayloadStream } = await import('../snapshot/payload.js');
  const reader = await SnapshotReader.open(file, key);
  try {
    const stream = new PayloadStream(reader);
    const state = await stream.state();
    const pages = mem.buffer.byteLength / PAGE;
    if (state.memoryPages > pages) mem.grow(state.memoryPages - pages);
    new Uint8Array(mem.buffer).fill(0);
    await stream.memory(mem.buffer);
    return state;
  } finally {
    await reader.close();
  }
}

/** Seals the unwound guest into the file the host asked for; the answer goes back to the host. */
async function seal(cfg: EnclaveConfig, suspender: Suspender, mem: WebAssembly.Memory, clocks: Clocks, inputRing: Ring, pendingInput: Uint8Array): Promise<Outcome> {
  const susp = cfg.suspendable!;
  const { SnapshotWriter } = await import('../snapshot/seal.js');
  const { PAGE, writeGuest } = await import('../snapshot/payload.js');
  suspender.stopUnwind();
  const file = suspender.request?.file;
  if (file === undefined) return { kind: 'failed', cause: 'internal', message: 'suspended without a file to seal into' };
  // Input the host had delivered that the guest had not read yet travels with it.
  const unread: Uint8Array[] = [pendingInput];
  const buf = new Uint8Array(inputRing.capacity);
  for (let n = inputRing.tryRead(buf); n > 0; n = inputRing.tryRead(buf)) unread.push(buf.slice(0, n));
  const input = Buffer.concat(unread);
  buf.fill(0);
  const state: SealedGuestState = {
    name: cfg.name, args: cfg.args, env: cfg.env, module: susp.module, policy: susp.policy,
    globals: suspender.sealedGlobals(), memoryPages: mem.buffer.byteLength / PAGE, stackData: suspender.stackData,
    monotonicNs: clocks.now(ClockId.MONOTONIC).toString(), pendingInput: input.toString('base64'),
    mounts: cfg.mounts.map((m, i) => ({ fd: 3 + i, guest: m.guestPath })), files: [],
  };
  input.fill(0);
  let w: import('../snapshot/seal.js').SnapshotWriter | undefined;
  try {
    w = SnapshotWriter.create(file, susp.sealKey, { guests: susp.guests, policySha256: susp.policySha256 });
    writeGuest(w, state, mem.buffer);
    w.close();
    suspender.answer({ bytes: w.written });
    return { kind: 'suspended', file, bytes: w.written };
  } catch (err) {
    w?.abort();
    const message = `cannot seal into '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    suspender.answer({ error: message });
    return { kind: 'failed', cause: 'internal', message };
  } finally {
    susp.sealKey.fill(0);
  }
}

function outcomeOf(err: unknown, cfg: EnclaveConfig, memory: GuestMemory): Outcome {
  if (err instanceof ProcExit) return { kind: 'exit', code: err.code };
  if (err instanceof CapsuleError) return { kind: 'failed', cause: 'snapshot', message: err.message };
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
  void run(cfg).then((report) => {
    parentPort!.postMessage(report);
    parentPort!.close();
  });
});

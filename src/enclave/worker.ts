// The enclave: one guest's thread. It builds the guest's view of the system
// (descriptor table, mounts, stdio and sockets over shared memory),
// instantiates the module with the ABI glue, runs `_start` and reports how it
// ended. Calls that need no shared state are served right here, on this
// thread; the rest go to the layer (rpc.ts). A threaded guest runs each of its
// threads on an enclave thread of its own (guest-thread.ts); this thread then
// holds its system view and answers the calls they forward.

import { parentPort, threadId } from 'node:worker_threads';
import { errnoName } from '../core/errno.js';
import { GuestStop, setDenialHook } from '../abi/errors.js';
import { boundText } from '../audit/escape.js';
import { GuestMemory } from '../abi/memory.js';
import { encodeUtf8 } from '../core/utf8.js';
import { createPreview1, PREVIEW1_MODULE } from '../abi/preview1/index.js';
import type { WasixContext } from '../abi/wasix/context.js';
import { createWasix, WASIX_MODULE } from '../abi/wasix/index.js';
import { traceFromEnv } from '../abi/syscall.js';
import { Signals } from '../abi/wasix/signals.js';
import { WorkingDirectory } from '../layer/fs/working-directory.js';
import { DIRECTORY_RIGHTS, FILE_RIGHTS, READ_ONLY_INHERITING, WRITE_RIGHTS } from '../core/witx.js';
import { HostDir } from '../host/fs.js';
import { randomFill } from '../host/random.js';
import { hostClocks } from '../layer/clocks.js';
import { FdTable } from '../layer/fdtable.js';
import type { DirNode } from '../layer/fs/backend.js';
import { DirectoryDescriptor, type IoCounters } from '../layer/fs/directory.js';
import { MountQuota } from '../layer/fs/quota.js';
import { Listings } from '../layer/fs/listing.js';
import { MemDir } from '../layer/fs/memfs.js';
import type { EnclaveEvents, NetRequest, SocketContext } from '../layer/net/protocol.js';
import { SocketDescriptor } from '../layer/net/socket.js';
import { Ring } from '../layer/ring.js';
import { WriteBoard } from '../layer/fs/write-board.js';
import { WriteCache } from '../layer/fs/write-cache.js';
import { InputStream, OutputStream } from '../layer/stdio.js';
import { formatSize } from '../core/units.js';
import { AUDIT_FD, MEMORY_IMPORT, Control, type EnclaveConfig, type EnclaveMessage, type EnclaveReport, type GuestThreadConfig, type Outcome, type Usage } from './protocol.js';
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
import { Activity } from './activity.js';
import { ClockId } from '../core/witx.js';
import type { Clocks } from '../layer/clocks.js';
import type { SealedGuestState } from '../snapshot/payload.js';
import { Suspender, type SystemDecision } from './suspender.js';
import type { WriterHandoff } from '../snapshot/seal.js';
import { ResumedInput } from './resumed-input.js';
import { wipe } from './wipe.js';
import type { UnsealConfig, UnsealedChunks } from './unseal-thread.js';
import type { PreloadRequest } from './pool.js';
import { serveUnseal } from './unseal-serve.js';
import { setSleeper } from '../layer/ring-wait.js';
import { saveCodeCaches } from '../core/code-cache.js';
import { endGuestScope } from '../core/guest-scope.js';
import type { Descriptor } from '../layer/descriptor.js';
import { describeDescriptors, reopenDescriptors, settleFiles, underMount, type DescriptorView, type TravellingFiles } from './travelling-files.js';

async function run(cfg: EnclaveConfig): Promise<EnclaveReport> {
  const started = performance.now();
  // The thread's CPU before this run (its boot, a previous guest of a pooled thread) is not the guest's.
  const cpuBefore = threadCpuMs();
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
    threadCpuMs: cpuBefore !== undefined ? (threadCpuMs() ?? cpuBefore) - cpuBefore : performance.now() - started - waited,
    enclaveThread: { id: threadId, guest: guests },
  });

  const activity = new Activity(control, () => ({ pages: memory.attached ? memory.size / 65536 : 0, descriptors: fds.size }));
  const susp = cfg.suspendable;
  // The descriptors a snapshot carries (travelling-files.ts); filled in as the table is made.
  const stdio: Descriptor[] = [];
  const roots: DirectoryDescriptor[] = [];
  const view: DescriptorView = { fds, stdio, roots, tmpfs: cfg.mounts.map((m) => m.hostPath === undefined), normalMode: cfg.mode !== 'secure' };
  const suspender = susp ? new Suspender(control, susp.port, (request) => {
    // A guest holding what cannot be opened again by path (a pipe...) is not suspended, and goes on;
    // sockets travel only when the host seals the guest's network with it (a system's, or a lone guest's).
    const files = describeDescriptors(view, request !== undefined && 'system' in request);
    return typeof files === 'string' ? files : undefined;
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
  for (let fd = 0; fd < 3; fd++) stdio.push(fds.peek(fd)!);

  const listings = new Listings();
  const writeCache = cfg.writeCache ? new WriteCache(new WriteBoard(cfg.writeCache.board), cfg.writeCache.slot) : undefined;
  const flushWrites = writeCache ? (): void => { if (writeCache.board.dirty()) writeCache.flushAll(); } : undefined;
  try {
    for (const mount of cfg.mounts) {
      const node: DirNode = mount.hostPath !== undefined
        ? HostDir.openRoot(mount.hostPath, mount.readOnly, mount.guestPath)
        : MemDir.create(mount.tmpfsBytes ?? 0, mount.guestPath);
      const counters: IoCounters = { read: 0, written: 0, ...(mount.quota !== undefined ? { quota: new MountQuota(mount.quota, mount.guestPath) } : {}) };
      mountCounters.set(mount.guestPath, counters);
      const root = mount.readOnly
        ? new DirectoryDescriptor(node, DIRECTORY_RIGHTS & ~WRITE_RIGHTS, READ_ONLY_INHERITING, mount.guestPath, counters, listings, writeCache)
        : new DirectoryDescriptor(node, DIRECTORY_RIGHTS, DIRECTORY_RIGHTS | FILE_RIGHTS, mount.guestPath, counters, listings, writeCache);
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
        sleep(() => Atomics.wait(control, Control.EPOCH, seen, wait === Infinity ? undefined : wait));
        waited += performance.now() - t;
      }
      signals.fireDue();
      // The service of a threaded guest answers other threads' calls while one waits.
      serveNested?.();
    },
  };
  // Monotonic time continues across a suspension from where it was (the offset is set on resume).
  let monotonicOffset = 0n;
  const clocks: Clocks = suspender ? {
    now: (id) => (id === ClockId.MONOTONIC ? hostClocks.now(id) + monotonicOffset : hostClocks.now(id)),
    resolution: (id) => hostClocks.resolution(id),
  } : hostClocks;
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
    clocks,
    randomFill,
    ...(flushWrites ? { flushWrites } : {}),
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
  // Each trace line names the guest and the import module (preview 1 and WASIX share names such as sock_send).
  const trace = traceFromEnv(cfg.name);
  const traceIn = (module: string) => trace && ((line: string): void => trace(`${module}.${line}`));
  const wasixFns = createWasix(ctx, traceIn(WASIX_MODULE));
  // Only proc_raise_interval sets signal timers: a guest that does not import it needs no check after each call
  // (which would cost its hot calls, fd_write among them, a wrapper each).
  const timersPossible = WebAssembly.Module.imports(cfg.module).some((i) => i.module === WASIX_MODULE && i.name === 'proc_raise_interval');
  const timed = (fns: Record<string, (...args: never[]) => unknown>): Record<string, (...args: never[]) => unknown> =>
    (timersPossible ? withSignalTimers(fns, signals) : fns);
  const imports: WebAssembly.Imports = {
    [PREVIEW1_MODULE]: timed(createPreview1(ctx, traceIn(PREVIEW1_MODULE))),
    [WASIX_MODULE]: timed(wasixFns),
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
  let results: (number | bigint)[] | undefined;
  try {
    if (threaded) {
      memory.attach(importedMemory!);
      checkStartMemory(cfg, memory);
      outcome = serveThreads(cfg, control, importedMemory!, imports, (serve) => { serveNested = serve; });
    } else {
      const provided = imports as Record<string, Record<string, unknown>>;
      const instance = new WebAssembly.Instance(cfg.module, activity.wrap(suspender ? suspender.wrap(provided) : provided) as WebAssembly.Imports);
      const mem = importedMemory ?? instance.exports['memory'];
      if (!(mem instanceof WebAssembly.Memory)) {
        return { outcome: { kind: 'failed', cause: 'link', message: 'module does not export its memory as "memory"' }, usage: usage() };
      }
      memory.attach(mem);
      wasmMemory = mem;
      activity.publish();
      signals.attach(instance.exports);
      checkStartMemory(cfg, memory);
      if (suspender) {
        suspender.attach(instance, mem);
        if (susp!.resumeFrom !== undefined) {
          const chunks = susp!.resumeChunks;
          susp!.resumeChunks = undefined; // restore() closes its end, whatever happens
          const state = await restore(susp!.resumeFrom, susp!.sealKey, mem, susp!.resumePart, chunks);
          // A guest of a system takes back its sockets: their entries and queues are back in the layer.
          for (const sock of state.sockets ?? []) fds.set(sock.fd, SocketDescriptor.reattach(socketContext, sock));
          monotonicOffset = BigInt(state.monotonicNs) - hostClocks.now(ClockId.MONOTONIC);
          pendingInput = Buffer.from(state.pendingInput, 'base64');
          stdinSource = new ResumedInput(pendingInput, input);
          // Its files opened again by guest path, under this run's policy, before any of its code runs.
          reopenDescriptors(view, state);
          // A mount's quota goes on counting from what the guest had used of it.
          for (const q of state.quotaUsed ?? []) {
            const quota = mountCounters.get(q.mount)?.quota;
            if (quota) { quota.bytesUsed = q.bytes; quota.entriesUsed = q.entries; }
          }
          // The working directory comes back if the resume still mounts where it lies.
          if (state.cwd !== undefined && roots.some((r) => r.mount !== undefined && underMount(state.cwd!, r.mount))) ctx.cwd.path = state.cwd;
          suspender.rewind(state);
          suspender.answer({ resumed: true });
        }
      }
      if (cfg.invoke) {
        // A reactor is initialised first, as wasmtime does before --invoke.
        (instance.exports['_initialize'] as (() => void) | undefined)?.();
        const returned: unknown = (instance.exports[cfg.invoke.name] as (...a: unknown[]) => unknown)(...cfg.invoke.args);
        results = cfg.invoke.results.length === 0 ? [] : cfg.invoke.results.length === 1 ? [returned as number | bigint] : (returned as (number | bigint)[]);
        outcome = { kind: 'exit', code: 0 };
      } else {
        const start = instance.exports['_start'] as () => void;
        start();
        // A guest of a system (or a lone one holding sockets) stopped for sealing waits for the host's word: seal its part, or go on.
        let part: WriterHandoff | undefined;
        let alone: SealedAlone | undefined;
        while (suspender?.unwound && suspender.request !== undefined && 'system' in suspender.request) {
          suspender.stopUnwind();
          suspender.answer({ stopped: true });
          const decision = suspender.awaitDecision();
          if ('part' in decision) { part = decision.part; alone = decision.alone; break; }
          suspender.goOn();
          start();
        }
        outcome = suspender?.unwound ? await seal(cfg, suspender, mem, clocks, inputRing, pendingInput, fds, part, alone, {
          files: () => settleFiles(view, flushWrites, part !== undefined),
          cwd: ctx.cwd.path,
          quotaUsed: [...mountCounters].flatMap(([mount, c]) => (c.quota ? [{ mount, bytes: c.quota.bytesUsed, entries: c.quota.entriesUsed }] : [])),
        }) : { kind: 'exit', code: 0 };
      }
    }
  } catch (err) {
    outcome = outcomeOf(err, cfg, memory);
  }

  // Whatever the guest wrote reaches its files, however it ended (a trap included).
  try { flushWrites?.(); } catch { /* a failure stays with its descriptor; closing reports nothing more */ }
  const report: EnclaveReport = { outcome, usage: usage(), ...(results ? { results } : {}) };
  fds.closeAll();
  cfg.layerPort.close();
  // Protected application memory: nothing the guest held outlives it (a sealed guest's, after sealing).
  // A threaded guest's memory is wiped by the host once its threads are gone (thread-host.ts), not under them.
  if ((cfg.mode === 'secure' || susp || cfg.reusable === true) && memory.attached && !threaded) {
    const nonZero = wipe(memory.slice(0, memory.size), cfg.checkWipe === true);
    if (cfg.checkWipe) report.wiped = { memoryBytes: memory.size, memoryNonZero: nonZero };
  }
  // A resume that ended before its memory was read: the chunks sent meanwhile are zeroed, and their sender stopped.
  if (susp?.resumeChunks) {
    const { closeReceiving } = await import('../snapshot/chunk-channel.js');
    closeReceiving(susp.resumeChunks.port, susp.resumeChunks.control);
  }
  susp?.sealKey.fill(0);
  // Only a guest that ended cleanly on its own may leave its thread to the next one (see pool.ts);
  // the heap figure is this thread's own (a worker thread's process.memoryUsage() is its isolate's).
  if (cfg.reusable === true && outcome.kind === 'exit' && !threaded && !susp) report.reusable = { heapBytes: process.memoryUsage().heapUsed };
  return report;
}

/**
 * Memory, globals and stack of the snapshot in `file` (a guest of a system:
 * its part, from `part` on), put back into `mem`: every byte read and
 * authenticated before the guest runs. With `chunks`, the host's unsealing
 * thread reads and decrypts the file, and sends its chunks here.
 */
async function restore(file: string, key: Uint8Array, mem: WebAssembly.Memory, part?: { offset: number; index: number }, chunks?: UnsealedChunks): Promise<SealedGuestState> {
  // Loaded on use (node:crypto among them): a guest that is not resumed or sealed starts without them.
  const { PAGE, PayloadStream } = await import('../snapshot/payload.js');
  let source: import('../snapshot/payload.js').ChunkSource;
  let close: () => Promise<void>;
  if (chunks) {
    const { ChunkReceiver } = await import('../snapshot/chunk-channel.js');
    const receiver = new ChunkReceiver(file, chunks.port, chunks.control);
    source = receiver;
    close = () => receiver.close();
    // The first chunks are decrypted here while the unsealing thread starts. If the file cannot be
    // opened here, or is not the snapshot the host checked, the thread is the one to refuse it.
    const { SnapshotReader } = await import('../snapshot/unseal.js');
    const own = await SnapshotReader.open(file, key).catch(() => undefined);
    if (own !== undefined) await receiver.decryptFirst(own, chunks.salt);
  } else {
    const { SnapshotReader } = await import('../snapshot/unseal.js');
    const reader = await SnapshotReader.open(file, key);
    if (part) reader.seek(part);
    source = reader;
    close = () => reader.close();
  }
  const stream = new PayloadStream(source);
  try {
    const state = await stream.state();
    // Grown once; only the pages the module's start wrote are zeroed where the snapshot does not fill them.
    const pages = mem.buffer.byteLength / PAGE;
    if (state.memoryPages > pages) mem.grow(state.memoryPages - pages);
    await stream.memory(mem.buffer, pages, part !== undefined);
    return state;
  } finally {
    stream.wipe();
    await close();
  }
}

/** A lone guest sealed with its sockets: the file the host's writer seals into, and its network record. */
type SealedAlone = NonNullable<Extract<SystemDecision, { part: unknown }>['alone']>;

/**
 * Seals the unwound guest into the file the host asked for, or (a guest of
 * a system) into its part of the system's file, handed over as `part`; the
 * answer goes back to the host. A system guest's sockets are let go, not
 * closed: the layer keeps them for the network's record.
 */
async function seal(cfg: EnclaveConfig, suspender: Suspender, mem: WebAssembly.Memory, clocks: Clocks, inputRing: Ring, pendingInput: Uint8Array,
  fds: FdTable, part: WriterHandoff | undefined, alone: SealedAlone | undefined,
  system: { files: () => TravellingFiles; cwd: string; quotaUsed: SealedGuestState['quotaUsed'] }): Promise<Outcome> {
  const susp = cfg.suspendable!;
  const { SnapshotWriter, PartWriter } = await import('../snapshot/seal.js');
  const { PAGE, writeGuest } = await import('../snapshot/payload.js');
  if (part === undefined) suspender.stopUnwind();
  const request = suspender.request;
  const file = request !== undefined && 'file' in request ? request.file : undefined;
  if (file === undefined && part === undefined) return { kind: 'failed', cause: 'internal', message: 'suspended without a file to seal into' };
  // Whatever the guest wrote is on disk before the snapshot that reopens its files exists.
  let open: TravellingFiles;
  try {
    open = system.files();
  } catch (err) {
    const message = `cannot seal into ${file !== undefined ? `'${file}'` : 'the system\'s snapshot'}: ${(err as Error).message}`;
    suspender.answer({ error: message });
    return { kind: 'failed', cause: 'internal', message };
  }
  // Input the host had delivered that the guest had not read yet travels with it.
  const unread: Uint8Array[] = [pendingInput];
  const buf = new Uint8Array(inputRing.capacity);
  for (let n = inputRing.tryRead(buf); n > 0; n = inputRing.tryRead(buf)) unread.push(buf.slice(0, n));
  const input = Buffer.concat(unread);
  buf.fill(0);
  const sockets = part === undefined ? [] : fds.numbers().flatMap((fd) => {
    const d = fds.get(fd);
    return d instanceof SocketDescriptor ? [d.sealed(fd)] : [];
  });
  const state: SealedGuestState = {
    name: cfg.name, args: cfg.args, env: cfg.env, module: susp.module, policy: susp.policy,
    globals: suspender.sealedGlobals(), memoryPages: mem.buffer.byteLength / PAGE, stackData: suspender.stackData,
    monotonicNs: clocks.now(ClockId.MONOTONIC).toString(), pendingInput: input.toString('base64'),
    mounts: cfg.mounts.map((m, i) => ({ fd: 3 + i, guest: m.guestPath })), files: open.files, closed: open.closed, cwd: system.cwd,
    ...(system.quotaUsed!.length > 0 ? { quotaUsed: system.quotaUsed } : {}),
    ...(part !== undefined ? { sockets } : {}),
    ...(alone !== undefined ? { network: alone.network } : {}),
  };
  input.fill(0);
  if (part !== undefined) {
    const w = new PartWriter(part);
    try {
      await writeGuest(w, state, mem.buffer);
      const at = w.finish();
      for (const fd of fds.numbers()) {
        const d = fds.get(fd);
        if (d instanceof SocketDescriptor) d.abandon();
      }
      const bytes = at.written - part.written;
      suspender.answer({ bytes, ...at });
      return alone !== undefined ? { kind: 'suspended', file: alone.file, bytes, partEnd: at }
        : { kind: 'suspended', file: '(its system\'s snapshot)', bytes, partEnd: at, withSystem: true };
    } catch (err) {
      w.finish();
      const message = `cannot seal into the system's snapshot: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      suspender.answer({ error: message });
      return { kind: 'failed', cause: 'internal', message };
    } finally {
      susp.sealKey.fill(0);
    }
  }
  let w: import('../snapshot/seal.js').SnapshotWriter | undefined;
  try {
    w = SnapshotWriter.create(file!, susp.sealKey, { guests: susp.guests, policySha256: susp.policySha256 });
    await writeGuest(w, state, mem.buffer);
    await w.finish();
    suspender.answer({ bytes: w.written });
    return { kind: 'suspended', file: file!, bytes: w.written };
  } catch (err) {
    await w?.abort();
    const message = `cannot seal into '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    suspender.answer({ error: message });
    return { kind: 'failed', cause: 'internal', message };
  } finally {
    susp.sealKey.fill(0);
  }
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

/** Guests this thread has run, the current one included. */
let guests = 0;

// The thread may be started before its guest is known (see pool.ts): it waits for its config.
// A guest that ended cleanly, on a thread the host may reuse, leaves it waiting for the next one.
function awaitGuest(): void {
  parentPort!.once('message', (cfg: EnclaveConfig | GuestThreadConfig | UnsealConfig | PreloadRequest) => {
    // A resume is coming (pool.ts preloadSnapshotCode()): its code is loaded while the host checks the snapshot.
    if ('kind' in cfg && cfg.kind === 'preload') {
      void import('../snapshot/unseal.js');
      void import('../snapshot/chunk-channel.js');
      awaitGuest();
      return;
    }
    // A resume's unsealing thread (enclave/unseal-serve.ts): one job, then it ends.
    if ('kind' in cfg && cfg.kind === 'unseal') {
      void serveUnseal(cfg).finally(() => parentPort!.close());
      return;
    }
    if ('kind' in cfg) {
      serveGuestThread(cfg);
      parentPort!.close();
      return;
    }
    guests++;
    void run(cfg).then((report) => {
      // A first run leaves the enclave's compiled code for the next (see core/code-cache.ts).
      saveCodeCaches();
      // Nothing of this guest stays reachable from module state (hooks, caches) once it has ended.
      endGuestScope();
      const reusable = report.reusable !== undefined;
      parentPort!.postMessage(report);
      if (reusable) awaitGuest();
      else parentPort!.close();
    });
  });
}
awaitGuest();

// The enclave: one guest's thread. It builds the guest's view of the system
// (descriptor table, mounts, stdio over shared rings), instantiates the
// module with the ABI glue, runs `_start` and reports how it ended. Calls
// that need no shared state are served right here, on this thread.

import { parentPort } from 'node:worker_threads';
import { randomFillSync } from 'node:crypto';
import { GuestMemory, encodeUtf8 } from '../abi/memory.js';
import { GuestStop } from '../abi/errors.js';
import { ProcExit, ProcSignal } from '../abi/exit.js';
import { createPreview1, PREVIEW1_MODULE } from '../abi/preview1/index.js';
import { sockFunctions } from '../abi/preview1/sock.js';
import { WASIX_MODULE, wasixSocketFunctions } from '../abi/wasix/sockets.js';
import type { WasixContext } from '../abi/wasix/context.js';
import type { EnclaveEvents, NetRequest } from '../layer/net/protocol.js';
import { SocketDescriptor } from '../layer/net/socket.js';
import { LayerClient } from './rpc.js';
import { DIRECTORY_RIGHTS, FILE_RIGHTS, WRITE_RIGHTS } from '../abi/witx.js';
import { FdTable } from '../layer/fdtable.js';
import { hostClocks } from '../layer/clocks.js';
import { DirectoryDescriptor, type IoCounters } from '../layer/fs/directory.js';
import { InputStream, OutputStream } from '../layer/stdio.js';
import { HostDir } from '../host/fs.js';
import { Control, type EnclaveConfig, type EnclaveReport, type Outcome } from './protocol.js';
import { Ring } from '../layer/ring.js';
import { InputReader, OutputWriter } from './stdio.js';
import { describeTrap } from './traps.js';

function run(cfg: EnclaveConfig): EnclaveReport {
  const memory = new GuestMemory();
  const control = new Int32Array(cfg.control);
  const fds = new FdTable();
  const counters: IoCounters = { read: 0, written: 0 };
  const usage = () => ({
    fileBytesRead: counters.read,
    fileBytesWritten: counters.written,
    peakMemory: memory.attached ? memory.size : 0,
  });

  const out = new OutputWriter(new Ring(cfg.output), control, Control.CLOSED_OUTPUTS);
  fds.set(0, new InputStream(new InputReader(new Ring(cfg.input)), cfg.terminals.stdin));
  fds.set(1, new OutputStream(out, 1, cfg.terminals.stdout));
  fds.set(2, new OutputStream(out, 2, cfg.terminals.stderr));

  let outcome: Outcome;
  try {
    for (const mount of cfg.mounts) {
      const ro = mount.readOnly ? ~WRITE_RIGHTS : -1;
      const node = HostDir.openRoot(mount.hostPath, mount.readOnly);
      fds.add(new DirectoryDescriptor(node, DIRECTORY_RIGHTS & ro, (DIRECTORY_RIGHTS | FILE_RIGHTS) & ro,
        mount.guestPath, counters));
    }
  } catch (err) {
    return { outcome: { kind: 'failed', cause: 'mount', message: `cannot open a mount: ${(err as Error).message}` }, usage: usage() };
  }

  const net = new LayerClient<NetRequest>(cfg.layerPort, control);
  const events: EnclaveEvents = {
    epoch: () => Atomics.load(control, Control.EPOCH),
    wait: (seen, timeoutMs) => {
      if (timeoutMs > 0) Atomics.wait(control, Control.EPOCH, seen, timeoutMs === Infinity ? undefined : timeoutMs);
    },
  };
  const ctx: WasixContext = {
    memory,
    fds,
    args: cfg.args.map(encodeUtf8),
    env: cfg.env.map(encodeUtf8),
    clocks: hostClocks,
    randomFill: (buf) => { randomFillSync(buf); },
    eventEpoch: events.epoch,
    waitForEvents: events.wait,
    net,
    openSocket: (fd, family, type) => SocketDescriptor.open(net, events, fd, family, type),
  };
  const preview1 = createPreview1(ctx);
  const wasix = { ...wasixSocketFunctions(ctx), ...sockFunctions(ctx) };

  const imports: WebAssembly.Imports = { [PREVIEW1_MODULE]: preview1, [WASIX_MODULE]: wasix };
  for (const { module, name } of cfg.trappingImports) {
    const ns = (imports[module] ??= {}) as Record<string, unknown>;
    ns[name] = () => {
      throw new WebAssembly.RuntimeError(`called unknown import ${module}.${name}`);
    };
  }

  try {
    const instance = new WebAssembly.Instance(cfg.module, imports);
    const mem = instance.exports['memory'];
    if (!(mem instanceof WebAssembly.Memory)) {
      return { outcome: { kind: 'failed', cause: 'link', message: 'module does not export its memory as "memory"' }, usage: usage() };
    }
    memory.attach(mem);
    (instance.exports['_start'] as () => void)();
    outcome = { kind: 'exit', code: 0 };
  } catch (err) {
    outcome = outcomeOf(err);
  }

  const report = { outcome, usage: usage() };
  fds.closeAll();
  cfg.layerPort.close();
  // Protected application memory: nothing the guest held outlives it.
  if (cfg.mode === 'secure' && memory.attached) memory.slice(0, memory.size).fill(0);
  return report;
}

function outcomeOf(err: unknown): Outcome {
  if (err instanceof ProcExit) return { kind: 'exit', code: err.code };
  if (err instanceof ProcSignal) return { kind: 'signal', signal: err.signal, code: err.code };
  if (err instanceof GuestStop) return { kind: 'limit', limit: err.reason, message: err.message };
  if (err instanceof WebAssembly.LinkError) return { kind: 'failed', cause: 'link', message: `cannot link the module: ${err.message}` };
  const trap = describeTrap(err);
  if (trap) return { kind: 'trap', message: trap };
  return { kind: 'failed', cause: 'internal', message: `internal error: ${(err as Error)?.stack ?? String(err)}` };
}

// The thread may be started before its guest is known (see pool.ts): it waits for its one config.
parentPort!.once('message', (cfg: EnclaveConfig) => {
  parentPort!.postMessage(run(cfg));
  parentPort!.close();
});

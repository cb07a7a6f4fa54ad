// Suspending a lone guest that holds sockets. Its sockets' entries and
// queues live in the layer, not in its enclave, so it is sealed the way a
// guest of a system is: stopped first (at its next call, or at once if it
// sleeps in one), so nothing moves on its network; then the layer's network
// record is taken, and the guest's own thread seals its state (the record
// in it) and memory into the one file through the host's writer, which
// writes the final chunk and renames the file into place. On resume the
// network is put back before the guest runs: listeners listen again (their
// published ports too), connections to itself go on with every byte, and
// connections bridged to the host read as reset, as in a system.

import { MAX_RECORD_BYTES } from '../snapshot/payload.js';
import { SnapshotWriter } from '../snapshot/seal.js';
import type { SealOptions } from '../snapshot/seal.js';
import type { EnclaveHandle } from '../enclave/launch.js';
import type { NetService } from '../layer/net/service.js';

export interface AloneSeal {
  name: string;
  net: NetService;
  handle: EnclaveHandle;
  /** Absolute path of the snapshot. */
  file: string;
  sealKey: Uint8Array;
  header: SealOptions;
}

/** Seals the guest with its network into `file`; the guest goes on (and this says why) if it cannot be sealed. */
export async function suspendWithNetwork(o: AloneSeal): Promise<{ bytes: number } | { error: string }> {
  const { name, net, handle: h } = o;
  // While kept, its end leaves its sockets as they are, to be sealed.
  net.keep(name, true);
  const stopped = await h.stopForSystem(() => net.wakeQueues(name));
  if ('error' in stopped) {
    net.keep(name, false);
    return { error: stopped.error };
  }
  const goOn = (error: string): { error: string } => {
    net.keep(name, false);
    h.goOn();
    return { error };
  };
  const network = net.sealAlone(name);
  if ('refused' in network) return goOn(network.refused);
  const recordBytes = Buffer.byteLength(JSON.stringify(network));
  if (recordBytes > MAX_RECORD_BYTES) {
    return goOn(`its network record (the bytes in its queues) is ${(recordBytes / 1048576).toFixed(1)} MiB, over the ${MAX_RECORD_BYTES / 1048576} MiB a snapshot carries`);
  }
  let writer: SnapshotWriter;
  try {
    writer = SnapshotWriter.create(o.file, o.sealKey, o.header);
  } catch (err) {
    // Nothing sealed yet: the guest goes on as if never asked.
    return goOn(`cannot seal into '${o.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let part: Awaited<ReturnType<SnapshotWriter['handoff']>>;
  try {
    part = await writer.handoff();
  } catch (err) {
    await writer.abort();
    return goOn(sealFailure(err, o.file));
  }
  try {
    const answer = await h.sealPart(part, { file: o.file, network });
    if ('error' in answer) throw new Error(answer.error);
    if (!Number.isSafeInteger(answer.index)) throw new Error('the guest ended before it could be suspended');
    writer.takeBack(answer);
    await writer.finish();
    return { bytes: writer.written };
  } catch (err) {
    await writer.abort();
    return { error: sealFailure(err, o.file) };
  } finally {
    // Sealed (or its part written and the seal failed after): it has ended, and what it held closes
    // (on a layer shared with other guests, its listeners and bindings would stay otherwise).
    net.keep(name, false);
  }
}

function sealFailure(err: unknown, file: string): string {
  const message = (err as Error).message;
  return message.startsWith('cannot seal') || message.startsWith('the guest') ? message : `cannot seal into '${file}': ${(err as NodeJS.ErrnoException).code ?? message}`;
}

// The unsealing thread's side of a resume (unseal-thread.ts starts it): the
// snapshot read and decrypted, and every chunk, authenticated, sent to the
// enclave in order. Loaded only on enclave threads (it waits when the
// enclave is behind; the host thread never does).

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { ChunkSender } from '../snapshot/chunk-channel.js';
import { takeOver } from '../snapshot/chunk-control.js';
import type { UnsealConfig } from './unseal-thread.js';

/** From worker.ts, when the thread's config is an UnsealConfig: every chunk of the snapshot, authenticated, to the enclave, in order. */
export async function serveUnseal(cfg: UnsealConfig): Promise<void> {
  const out = new ChunkSender(cfg.port, cfg.control);
  const sealKey = new Uint8Array(cfg.sealKey);
  try {
    const { SnapshotReader } = await import('../snapshot/unseal.js');
    // Read on this thread: it has nothing else to do, and a resume keeps every core busy.
    const reader = await SnapshotReader.open(cfg.file, sealKey, { syncReads: true }).finally(() => sealKey.fill(0));
    try {
      if (reader.header.salt !== cfg.salt) throw new CapsuleError(ExitCode.SNAPSHOT_REFUSED, `'${cfg.file}' was replaced while it was being resumed`);
      // The enclave decrypted the first chunks itself while this thread started: it goes on after them.
      await reader.skip(takeOver(cfg.control));
      for (;;) {
        const pieces = await reader.nextPieces();
        if (pieces === undefined) { out.finish(); break; }
        if (!out.send(pieces)) break;
      }
      // Said before the file is closed: the enclave goes on without waiting for that.
      out.close();
    } finally {
      await reader.close();
    }
  } catch (err) {
    if (err instanceof CapsuleError) out.fail(err.exitCode, err.message);
    else out.fail(ExitCode.SNAPSHOT_REFUSED, `'${cfg.file}' cannot be read: ${(err as Error).message}`);
  } finally {
    out.close();
  }
}

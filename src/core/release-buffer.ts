// Gives a buffer's memory back to the allocator at once. A buffer that is
// only dropped is freed when V8 next collects it, so a loop that gets a fresh
// buffer from every call (a cipher's output, 64 KiB at a time) keeps taking
// new pages from the system and faulting each one in, instead of reusing the
// few the previous calls freed: for a 256 MiB snapshot that is 65,000 page
// faults, and the decryption ran at half its speed. Detaching a buffer with
// ArrayBuffer.prototype.transfer(0) frees its memory there and then.

import v8 from 'node:v8';
import vm from 'node:vm';

type Transfer = (this: ArrayBuffer, newLength?: number) => ArrayBuffer;

/** This thread's transfer(), once looked for; null where V8 has none. */
let transfer: Transfer | null | undefined;

function findTransfer(): Transfer | null {
  const native = (ArrayBuffer.prototype as { transfer?: Transfer }).transfer;
  if (typeof native === 'function') return native;
  // Node 20's V8 has it behind a flag, and gives it to contexts made after the flag is set. The
  // function works on buffers of any context, and nothing else of the flag reaches a guest (wasm).
  // V8 takes code caches made before the flag was set (core/code-cache.ts) after it too.
  try {
    v8.setFlagsFromString('--harmony-rab-gsab-transfer');
    const fn: unknown = vm.runInNewContext('ArrayBuffer.prototype.transfer');
    return typeof fn === 'function' ? (fn as Transfer) : null;
  } catch {
    return null;
  }
}

/**
 * Frees the memory of `bytes` now: an ArrayBuffer, or a view that covers its
 * whole buffer (one that shares its buffer, such as a small Buffer from
 * Node's pool, is left alone: the others would lose their bytes). It is left
 * detached, of length 0. The caller zeroes it first if it held anything
 * secret: freed memory keeps its bytes. A buffer that cannot be detached
 * (shared, or a wasm memory's) is freed when it is collected, as before.
 */
export function releaseBuffer(bytes: ArrayBuffer | ArrayBufferView): void {
  const buffer = ArrayBuffer.isView(bytes) ? bytes.buffer : bytes;
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
  if (ArrayBuffer.isView(bytes) && (bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength)) return;
  transfer ??= findTransfer();
  if (transfer === null) return;
  try {
    transfer.call(buffer, 0);
  } catch {
    // Not detachable: collected later, as any dropped buffer is.
  }
}

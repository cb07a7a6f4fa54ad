// A worker compiles each module once per memory limit, not once per job:
// the compiled module (capped to the job's memory limit, as run() caps it)
// is kept by SHA-256 and handed to every later job that names it. Compiled
// code is read-only and each job still gets a new instance, memory and
// enclave thread of its own.

import { loadModule, type LoadedModule } from '../module/load.js';

/** Bytes of module source whose compiled forms a worker keeps (least recently used dropped first). */
const KEPT_BYTES = 256 * 1024 * 1024;

export class CompiledModules {
  private readonly kept = new Map<string, { loaded: Promise<LoadedModule>; bytes: number }>();
  private bytes = 0;

  /** `module` (whose SHA-256 is `sha`) compiled and capped to `memoryBytes`. */
  get(sha: string, module: Uint8Array, memoryBytes: number): Promise<LoadedModule> {
    const key = `${sha}:${memoryBytes}`;
    const hit = this.kept.get(key);
    if (hit) {
      this.kept.delete(key);
      this.kept.set(key, hit);
      return hit.loaded;
    }
    const loaded = loadModule(module, false, memoryBytes);
    const entry = { loaded, bytes: module.byteLength };
    this.kept.set(key, entry);
    this.bytes += entry.bytes;
    // A module refused (bad, too much memory) is not kept: the next job reports it afresh.
    loaded.catch(() => { if (this.kept.get(key) === entry) { this.kept.delete(key); this.bytes -= entry.bytes; } });
    for (const [k, v] of this.kept) {
      if (this.bytes <= KEPT_BYTES || k === key) break;
      this.kept.delete(k);
      this.bytes -= v.bytes;
    }
    return loaded;
  }
}

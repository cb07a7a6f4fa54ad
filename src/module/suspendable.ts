// Preparing a module for suspension (--suspendable): binaryen's Asyncify pass
// rewrites it so that its stack can be unwound at any import call and wound
// back later, and every mutable global is exported so that its value can be
// read and set from outside. The result is cached on disk by the module's
// SHA-256 (and what prepared it), so only the first run pays for it.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

/** What prepared a module; part of the cache key and of a snapshot (another preparation lays out the stack otherwise). */
export const PREPARATION = 'asyncify-2';
import { GLOBAL_EXPORT_PREFIX } from '../enclave/suspend-names.js';
import { defaultCacheDir } from '../core/cache-dir.js';

export { defaultCacheDir };


function binaryenVersion(): string {
  try {
    return (createRequire(import.meta.url)('binaryen/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The preparation's full name: Capsule's step and the binaryen that ran it. */
export function preparationId(): string {
  return `${PREPARATION}+binaryen-${binaryenVersion()}`;
}

/**
 * The cache directory, made private (0700) if new; an existing one must be
 * this user's and writable by no one else, since what is in it runs as the guest.
 */
function privateCacheDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new CapsuleError(ExitCode.NOT_PRIVATE, `cache directory ${dir} is not a private directory of this user's (--cache-dir): not using it`);
  }
  return dir;
}

async function asyncify(bytes: Uint8Array, label: string): Promise<Uint8Array> {
  // 14 MB of JavaScript: loaded only when a module is prepared.
  const binaryen = (await import('binaryen')).default;
  let m;
  try {
    m = binaryen.readBinary(bytes);
  } catch {
    throw new CapsuleError(ExitCode.BAD_MODULE, `'${label}' cannot be prepared for suspension: binaryen cannot read it`);
  }
  try {
    // What Node's engine runs; more would let binaryen write encodings it does not read (compact imports, say).
    const F = binaryen.Features;
    m.setFeatures(F.MutableGlobals | F.SignExt | F.BulkMemory | F.NontrappingFPToInt | F.SIMD128 | F.ReferenceTypes | F.Multivalue);
    for (let i = 0; i < m.getNumGlobals(); i++) {
      const g = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
      if (g.module !== '') {
        throw new CapsuleError(ExitCode.BAD_MODULE, `'${label}' imports global ${g.module}.${g.base}: it cannot be suspended`);
      }
      if (g.mutable) m.addGlobalExport(g.name, `${GLOBAL_EXPORT_PREFIX}${i}`);
    }
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(0);
    binaryen.setPassArgument('asyncify-imports', 'wasi_snapshot_preview1.*,wasix_32v1.*');
    m.runPasses(['asyncify']);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** `bytes` (whose SHA-256 is `sha256`) prepared for suspension, from the cache or made now and cached. */
export async function prepareSuspendable(bytes: Uint8Array, sha256: string, label: string, cacheDir = defaultCacheDir()): Promise<Uint8Array> {
  const dir = privateCacheDir(cacheDir);
  const file = path.join(dir, `${sha256}.${preparationId()}.wasm`);
  try {
    return fs.readFileSync(file);
  } catch { /* not cached yet */ }
  const prepared = await asyncify(bytes, label);
  const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.partial`;
  try {
    fs.writeFileSync(temp, prepared, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, file);
  } catch {
    // A cache that cannot be written costs only time; the run goes on.
    fs.rmSync(temp, { force: true });
  }
  return prepared;
}

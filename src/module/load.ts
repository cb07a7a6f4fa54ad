// Reading, compiling and checking a guest module before an enclave is made,
// so that every problem with the module is one clear line, not a trap later.

import { createRequire } from 'node:module';
import { saveCodeCaches } from '../core/code-cache.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { PREVIEW1_MODULE, PREVIEW1_NAMES } from '../abi/preview1/names.js';
import { WASI_THREADS_MODULE, WASI_THREADS_NAMES, WASIX_MODULE, WASIX_NAMES } from '../abi/wasix/names.js';
import type { ImportName } from '../enclave/protocol.js';
import { readRegularFile, UnreadableFile } from '../core/read-file.js';
import { formatSize } from '../core/units.js';
import { compilerFor } from './compiler-flags.js';
import { capMemory, MemoryTooLarge } from './memory-cap.js';
import { capTables, TablesTooLarge } from './table-cap.js';
import { importTypes, PROVIDED_TYPES } from './import-types.js';
import { importedMemory, ImportedMemoryTooLarge, MEMORY_IMPORT, type ImportedMemory } from './imported-memory.js';
import { exportedFunctionType, uninvokable, type FunctionType } from './invoke.js';

export type ModuleSource = string | URL | Uint8Array | WebAssembly.Module;

export interface LoadedModule {
  module: WebAssembly.Module;
  /** A name for messages: the file name, or "module". */
  label: string;
  /** Function imports no provider knows; they trap when called if allowed. */
  unknownImports: ImportName[];
  /** The memory to create for a module that imports `env.memory` (limits already capped in secure mode). */
  importedMemory?: ImportedMemory;
  /** SHA-256 of the module's bytes as given (before any cap), hex, computed when first read; absent for a precompiled Module. */
  readonly sha256?: string;
  /** The type of the function `--invoke` calls, when one is named. */
  invokeType?: FunctionType;
  /** Prepared for suspension (see suspendable.ts). */
  suspendable: boolean;
}

/** --suspendable: prepare the module (cached in `cacheDir`). */
export interface SuspendableOption {
  cacheDir?: string;
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** SHA-256 (hex) of `bytes`. node:crypto loads on first use: a plain run hashes its module once the guest is running. */
function sha256Of(bytes: Uint8Array): string {
  return (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
}

/** Whether a module imports a call that starts threads (wasi-threads or WASIX). */
function startsThreads(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => (i.module === WASI_THREADS_MODULE && WASI_THREADS_NAMES.has(i.name)) ||
    (i.module === WASIX_MODULE && i.name === 'thread_spawn_v2'));
}

/** The engine's own limit on a module's size. */
const MAX_MODULE_BYTES = 1024 * 1024 * 1024;

async function readBytes(source: string | URL, label: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(source, MAX_MODULE_BYTES);
  } catch (err) {
    if (err instanceof UnreadableFile) throw new CapsuleError(ExitCode.NO_INPUT, `cannot read module '${label}': ${err.message}`);
    throw err;
  }
}

/**
 * The flag is process-wide, and V8 reads it when it compiles each function,
 * lazily, at its first call (on the enclave thread): it is left as the last
 * module compiled needs, not switched back. Two modules of different sizes
 * run at once may get each other's compiler, which costs time, never
 * correctness. V8 takes a code cache only under the flags it was made with:
 * the entries of Capsule's own bundles still to be written are written
 * first (see core/code-cache.ts).
 */
function compileModule(bytes: Uint8Array): Promise<WebAssembly.Module> {
  saveCodeCaches();
  compilerFor(bytes.byteLength);
  return WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
}

async function compile(bytes: Uint8Array, label: string): Promise<WebAssembly.Module> {
  if (bytes.byteLength < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new CapsuleError(ExitCode.BAD_MODULE, `'${label}' is not a WebAssembly module (no \\0asm header)`);
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new CapsuleError(ExitCode.BAD_MODULE,
      `'${label}' is a WebAssembly component or an unsupported binary version, not a core module`);
  }
  try {
    return await compileModule(bytes);
  } catch (err) {
    const detail = (err as Error).message.replace(/^WebAssembly\.\w+\(\): /, '');
    throw new CapsuleError(ExitCode.BAD_MODULE, `'${label}' is not a valid WebAssembly module: ${detail}`);
  }
}

function capped(bytes: Uint8Array, label: string, memoryLimit: number | undefined): Uint8Array {
  if (memoryLimit === undefined || bytes.byteLength < 8) return bytes;
  try {
    return capTables(capMemory(bytes, memoryLimit).bytes);
  } catch (err) {
    if (err instanceof MemoryTooLarge) {
      throw new CapsuleError(ExitCode.MEMORY_LIMIT, `'${label}' needs ${formatSize(err.initialBytes)} of memory at start, ` +
        `over its limit of ${formatSize(err.limitBytes)} (--memory)`);
    }
    if (err instanceof TablesTooLarge) {
      throw new CapsuleError(ExitCode.MEMORY_LIMIT, `'${label}' needs ${err.initialElements} table elements at start, ` +
        `over the limit of ${err.limitElements} per guest`);
    }
    return bytes; // malformed: let the compiler say why
  }
}

/**
 * Loads and checks a WASI command module; throws CapsuleError with a
 * one-line reason. With `memoryLimit` (secure mode), the module's memory and
 * tables are capped first; a precompiled Module cannot be, so it is refused.
 */
export async function loadModule(source: ModuleSource, trapUnknownImports: boolean, memoryLimit?: number, invoke?: string,
  suspendable?: SuspendableOption): Promise<LoadedModule> {
  let module: WebAssembly.Module;
  let label = 'module';
  let bytes: Uint8Array | undefined;
  let sha256: string | undefined;
  /** The module's bytes as given, until they are hashed. */
  let unhashed: Uint8Array | undefined;
  if (source instanceof WebAssembly.Module && suspendable) {
    throw new CapsuleError(ExitCode.USAGE, "a precompiled WebAssembly.Module cannot be prepared for suspension: pass the module's bytes or path instead");
  }
  if (source instanceof WebAssembly.Module) {
    if (memoryLimit !== undefined) {
      throw new CapsuleError(ExitCode.USAGE, 'a precompiled WebAssembly.Module cannot be held to the memory and table limits ' +
        "of secure mode: pass the module's bytes or path instead");
    }
    module = source;
  } else {
    if (!(source instanceof Uint8Array)) label = source instanceof URL ? source.pathname : source;
    // Bytes handed over are copied first: checked, capped and compiled, the copy cannot change underneath
    // (another thread writing a SharedArrayBuffer could otherwise undo the cap between capping and compiling).
    bytes = source instanceof Uint8Array ? Uint8Array.from(source) : await readBytes(source, label);
    // The module as given, for the usage report and a snapshot's header: hashed when first asked for.
    unhashed = bytes;
    // Checked as given first, so a broken module is refused in the compiler's words, not binaryen's.
    if (suspendable) {
      sha256 = sha256Of(bytes);
      unhashed = undefined;
      // Loaded on use: a plain run does not need the preparation.
      const { prepareSuspendable } = await import('./suspendable.js');
      const given = await compile(bytes, label);
      // A threaded guest's stacks are on several threads at once: it cannot be unwound as one yet.
      if (startsThreads(given)) {
        throw new CapsuleError(ExitCode.USAGE, `--suspendable: '${label}' can start threads, and a threaded guest cannot be suspended yet`);
      }
      bytes = await prepareSuspendable(bytes, sha256, label, suspendable.cacheDir);
    }
    module = await compile(capped(bytes, label, memoryLimit), label);
  }

  const exported = WebAssembly.Module.exports(module);
  let invokeType: FunctionType | undefined;
  if (invoke !== undefined && startsThreads(module)) {
    // Its threads start from _start's runtime (wasi_thread_start and libc's set-up), not from an export called alone.
    throw new CapsuleError(ExitCode.USAGE, `--invoke: '${label}' can start threads, and a threaded guest runs only from _start`);
  }
  if (invoke !== undefined) {
    const functions = exported.filter((e) => e.kind === 'function').map((e) => e.name);
    if (!functions.includes(invoke)) {
      throw new CapsuleError(ExitCode.USAGE, `--invoke: '${label}' exports no function '${invoke}' (it exports: ${functions.join(', ') || 'none'})`);
    }
    invokeType = bytes ? exportedFunctionType(bytes, invoke) : undefined;
    if (!invokeType) throw new CapsuleError(ExitCode.USAGE, `--invoke: the type of '${invoke}' cannot be read: pass the module's bytes or path`);
    const why = uninvokable(invokeType);
    if (why) throw new CapsuleError(ExitCode.USAGE, `--invoke: '${invoke}' cannot be called with command-line values: its ${why}`);
  } else {
    const start = exported.find((e) => e.name === '_start');
    if (!start || start.kind !== 'function') {
      const functions = exported.filter((e) => e.kind === 'function').map((e) => e.name).filter((n) => !n.startsWith('_'));
      throw new CapsuleError(ExitCode.BAD_MODULE, `'${label}' has no _start function: it is not a WASI command module` +
        (functions.length > 0 ? ` (to call one of its functions: --invoke ${functions.slice(0, 5).join(', ')}${functions.length > 5 ? ', ...' : ''})` : ''));
    }
  }

  let memory: ImportedMemory | undefined;
  try {
    memory = bytes ? importedMemory(bytes, memoryLimit) : undefined;
  } catch (err) {
    if (!(err instanceof ImportedMemoryTooLarge)) throw err;
    throw new CapsuleError(ExitCode.MEMORY_LIMIT, `'${label}' needs ${formatSize(err.initialBytes)} of memory at start, ` +
      `over its limit of ${formatSize(err.limitBytes)} (--memory)`);
  }

  const unknown: ImportName[] = [];
  const unusable: string[] = [];
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'memory' && imp.module === MEMORY_IMPORT.module && imp.name === MEMORY_IMPORT.name) {
      if (memory) continue;
      throw new CapsuleError(ExitCode.BAD_MODULE, bytes
        ? `'${label}' imports a memory Capsule cannot create (a 64-bit memory or custom page size)`
        : `'${label}' imports its memory: pass the module's bytes or path, not a precompiled WebAssembly.Module, ` +
          'so that Capsule can read the limits it declares');
    }
    if (imp.kind === 'function' && ((imp.module === PREVIEW1_MODULE && PREVIEW1_NAMES.has(imp.name)) ||
        (imp.module === WASIX_MODULE && WASIX_NAMES.has(imp.name)) ||
        (imp.module === WASI_THREADS_MODULE && WASI_THREADS_NAMES.has(imp.name)))) continue;
    if (imp.kind === 'function') unknown.push({ module: imp.module, name: imp.name });
    else unusable.push(`${imp.module}.${imp.name} (${imp.kind})`);
  }
  if (unusable.length > 0) {
    throw new CapsuleError(ExitCode.BAD_MODULE,
      `'${label}' imports what Capsule cannot provide: ${unusable.join(', ')}`);
  }
  // Provided functions must be imported with the type Capsule gives them.
  const declared = bytes ? importTypes(bytes) : undefined;
  for (const [key, type] of declared ?? []) {
    const provided = PROVIDED_TYPES.get(key);
    if (provided !== undefined && provided !== type) {
      throw new CapsuleError(ExitCode.BAD_MODULE, `'${label}' imports ${key} as ${type}, but it is ${provided}`);
    }
  }
  if (unknown.length > 0 && !trapUnknownImports) {
    const names = unknown.map((i) => `${i.module}.${i.name}`).join(', ');
    throw new CapsuleError(ExitCode.BAD_MODULE,
      `'${label}' imports unknown functions: ${names} (--trap-unknown-imports lets them trap only when called)`);
  }
  const loaded: LoadedModule = { module, label, unknownImports: unknown, ...(memory ? { importedMemory: memory } : {}), ...(invokeType ? { invokeType } : {}),
    suspendable: suspendable !== undefined };
  if (unhashed !== undefined || sha256 !== undefined) {
    Object.defineProperty(loaded, 'sha256', {
      enumerable: true,
      get: () => {
        if (unhashed !== undefined) [sha256, unhashed] = [sha256Of(unhashed), undefined];
        return sha256;
      },
    });
  }
  return loaded;
}

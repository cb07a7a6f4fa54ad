// Reading, compiling and checking a guest module before an enclave is made,
// so that every problem with the module is one clear line, not a trap later.

import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import { PREVIEW1_MODULE, PREVIEW1_NAMES } from '../abi/preview1/names.js';
import { WASIX_MODULE, WASIX_SOCKET_NAMES } from '../abi/wasix/names.js';
import type { ImportName } from '../enclave/protocol.js';
import { readRegularFile, UnreadableFile } from '../host/read-file.js';
import { formatSize } from '../policy/units.js';
import { capMemory, MemoryTooLarge } from './memory-cap.js';
import { capTables, TablesTooLarge } from './table-cap.js';
import { importTypes, PROVIDED_TYPES } from './import-types.js';

export type ModuleSource = string | URL | Uint8Array | WebAssembly.Module;

export interface LoadedModule {
  module: WebAssembly.Module;
  /** A name for messages: the file name, or "module". */
  label: string;
  /** Function imports no provider knows; they trap when called if allowed. */
  unknownImports: ImportName[];
  /** SHA-256 (hex) of the module's bytes as given (absent for a precompiled Module). */
  sha256?: string;
  /** Prepared for suspension (see suspendable.ts). */
  suspendable: boolean;
}

/** --suspendable: prepare the module (cached in `cacheDir`). */
export interface SuspendableOption {
  cacheDir?: string;
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

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

async function compile(bytes: Uint8Array, label: string): Promise<WebAssembly.Module> {
  if (bytes.byteLength < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new CapsuleError(ExitCode.BAD_MODULE, `'${label}' is not a WebAssembly module (no \\0asm header)`);
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new CapsuleError(ExitCode.BAD_MODULE,
      `'${label}' is a WebAssembly component or an unsupported binary version, not a core module`);
  }
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
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
export async function loadModule(source: ModuleSource, trapUnknownImports: boolean, memoryLimit?: number, suspendable?: SuspendableOption): Promise<LoadedModule> {
  let module: WebAssembly.Module;
  let label = 'module';
  let bytes: Uint8Array | undefined;
  let sha256: string | undefined;
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
    // Checked as given first, so a broken module is refused in the compiler's words, not binaryen's.
    if (suspendable) {
      // Loaded on use: a plain run needs neither node:crypto nor the preparation.
      sha256 = (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
      const { prepareSuspendable } = await import('./suspendable.js');
      await compile(bytes, label);
      bytes = await prepareSuspendable(bytes, sha256, label, suspendable.cacheDir);
    }
    module = await compile(capped(bytes, label, memoryLimit), label);
  }

  const start = WebAssembly.Module.exports(module).find((e) => e.name === '_start');
  if (!start || start.kind !== 'function') {
    throw new CapsuleError(ExitCode.BAD_MODULE,
      `'${label}' has no _start function: it is not a WASI command module`);
  }

  const unknown: ImportName[] = [];
  const unusable: string[] = [];
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'function' && ((imp.module === PREVIEW1_MODULE && PREVIEW1_NAMES.has(imp.name)) ||
        (imp.module === WASIX_MODULE && WASIX_SOCKET_NAMES.has(imp.name)))) continue;
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
  return { module, label, unknownImports: unknown, ...(sha256 !== undefined ? { sha256 } : {}), suspendable: suspendable !== undefined };
}

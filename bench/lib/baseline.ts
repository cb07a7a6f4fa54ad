// The baseline: Node's own WASI (node:wasi) running the same module with the
// same arguments and mounts. Used in-process for the start-up comparison and
// by nodewasi-runner.ts as a stand-alone command.

import fs from 'node:fs/promises';
import path from 'node:path';
import { WASI } from 'node:wasi';

/** Reads, compiles, instantiates and starts a WASI command module; returns its exit code. */
export async function runNodeWasi(
  modulePath: string, args: string[], preopens: Record<string, string>, stdout = 1,
): Promise<number> {
  const wasi = new WASI({
    version: 'preview1', args: [path.basename(modulePath), ...args], env: {}, preopens, returnOnExit: true, stdout,
  });
  const module = await WebAssembly.compile(await fs.readFile(modulePath));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
  return wasi.start(instance);
}

// `capsule up system.json`: every guest of a system on one layer, sharing
// its virtual network (the API's System runs it). Output lines carry the
// guest's name; the command ends when every guest has, or when the first
// fails (unless the file says "onFailure": "continue"); Ctrl-C stops them all.

import { serveControl } from '../api/control.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { setSpareEnclaves } from '../api/run.js';
import { System } from '../api/system.js';
import { prewarm } from '../enclave/pool.js';
import { reportOutcome, say } from './report.js';
import { readSystemFile } from './system-file.js';
import { interruptible, openAuditFile, traceLine } from './session.js';

export interface UpFlags {
  audit?: string;
  traceSockets?: boolean;
  trapUnknownImports?: boolean;
}

export async function upCommand(file: string, flags: UpFlags): Promise<number> {
  const spec = await readSystemFile(file);
  setSpareEnclaves(0);
  prewarm(spec.guests.length);
  let system: System;
  try {
    system = await System.load({
      guests: spec.guests, mode: spec.mode, network: spec.network, limits: spec.limits, onFailure: spec.onFailure, base: spec.base,
      trapUnknownImports: flags.trapUnknownImports ?? false,
      ...(flags.traceSockets ? { traceSockets: traceLine } : {}),
      onExit: (name, result) => reportOutcome(result, name),
    });
  } catch (err) {
    // A system description the schema let through but System refused is still the file's mistake.
    if (err instanceof CapsuleError && err.exitCode === ExitCode.CONFIG) throw new CapsuleError(ExitCode.CONFIG, `${file}: ${err.message}`);
    throw err;
  }
  openAuditFile(system.layer, flags.audit);
  const interrupt = interruptible();
  let control: { close(): void } | undefined;
  try {
    await system.start();
    control = await serveControl(system.layer, file, say);
    return (await system.run({ signal: interrupt.signal })).exitCode;
  } finally {
    interrupt.dispose();
    control?.close();
    system.close();
  }
}

// `capsule up system.json`: every guest of a system on one layer, sharing
// its virtual network (the API's System runs it). Output lines carry the
// guest's name; the command ends when every guest has, or when the first
// fails (unless the file says "onFailure": "continue"); Ctrl-C stops them all.
// The control socket serves the socket table, each guest's recent output
// (`capsule logs`) and stops (`capsule stop`); with -d the system runs in a
// background process and that socket is the only handle (see detach.ts).

import fs from 'node:fs';
import { Writable } from 'node:stream';
import { serveControl, type ControlHandlers } from '../api/control.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { setSpareEnclaves } from '../api/run.js';
import { privateRuntimeDir } from '../api/runtime-dir.js';
import { System, type SystemResult } from '../api/system.js';
import { escapeText } from '../audit/escape.js';
import { prewarm } from '../enclave/pool.js';
import { parsePublish } from '../policy/network.js';
import { isDetachedChild, reportReady, startDetached } from './detach.js';
import { reportOutcome, say } from './report.js';
import { readSystemFile } from './system-file.js';
import { interruptible, openAuditFile, traceLine } from './session.js';

export interface UpFlags {
  audit?: string;
  report?: string;
  detach?: boolean;
  traceSockets?: boolean;
  trapUnknownImports?: boolean;
  /** false with --no-write-cache. */
  writeCache?: boolean;
  suspendable?: boolean;
  sealKey?: string;
  cacheDir?: string;
}

/** Where a detached system's output goes besides its logs: nowhere (no one reads the background process). */
function discard(): Writable {
  return new Writable({ write(_chunk, _enc, done) { done(); } });
}

/** The --report document: the system's result and each guest's, as `capsule run --report` writes one. */
function writeReport(file: string, result: SystemResult): void {
  const guests = Object.fromEntries([...result.guests].map(([name, { stdout: _o, stderr: _e, ...r }]) => [name, r]));
  const doc = { exitCode: result.exitCode, ...(result.failed !== undefined ? { failed: result.failed } : {}), guests };
  try {
    fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  } catch (err) {
    throw new CapsuleError(ExitCode.NO_INPUT, `cannot write report '${file}': ${(err as Error).message}`);
  }
}

export async function upCommand(file: string, flags: UpFlags): Promise<number> {
  const detached = isDetachedChild();
  if (flags.detach && !detached) {
    // The control socket is the only handle on a background system: no private runtime directory, no start (77).
    privateRuntimeDir(true);
    const started = await startDetached();
    if ('code' in started) return started.code;
    const pid = started.pid;
    process.stdout.write(`${file} is up in the background, pid ${pid}:\n`
      + started.published.map((p) => `  published ${escapeText(p)}\n`).join('')
      + `  capsule logs --pid ${pid} NAME [-f]    a guest's output\n`
      + `  capsule sockets --pid ${pid}           its socket table\n`
      + `  capsule stop --pid ${pid} [NAME]       stop one guest, or all of them\n`);
    return 0;
  }
  const spec = await readSystemFile(file);
  setSpareEnclaves(0);
  prewarm(spec.guests.length);
  const suspendable = flags.suspendable === true || spec.suspendable;
  const keyFile = flags.sealKey ?? spec.sealKey;
  // Loaded on use, with node:crypto: only a suspendable system reads a seal key.
  const sealKey = suspendable && keyFile !== undefined ? (await import('../snapshot/key.js')).readSealKeyFile(keyFile) : undefined;
  let system: System;
  try {
    system = await System.load({
      guests: spec.guests, mode: spec.mode, network: spec.network, limits: spec.limits, onFailure: spec.onFailure, base: spec.base,
      readyTimeoutMs: spec.readyTimeoutMs,
      ...(suspendable ? { suspendable: true } : {}), ...(sealKey ? { sealKey } : {}),
      ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
      trapUnknownImports: flags.trapUnknownImports ?? false,
      ...(flags.writeCache === false ? { writeCache: false } : {}),
      ...(flags.traceSockets ? { traceSockets: traceLine } : {}),
      ...(detached ? { stdout: discard(), stderr: discard() } : {}),
      onExit: (name, result) => reportOutcome(result, name),
    });
  } catch (err) {
    // A system description the schema let through but System refused is still the file's mistake.
    if (err instanceof CapsuleError && err.exitCode === ExitCode.CONFIG) throw new CapsuleError(ExitCode.CONFIG, `${file}: ${err.message}`);
    throw err;
  } finally {
    sealKey?.fill(0);
  }
  return runSystem(system, file, flags, detached, spec.guests);
}

/**
 * Runs a loaded system (`capsule up`, or `capsule resume` of a system's
 * snapshot) with its control socket: the socket table, logs, stop and
 * suspend --all; returns its exit status.
 */
export async function runSystem(system: System, file: string, flags: UpFlags, detached: boolean, guests: { name: string; publish: string[] }[]): Promise<number> {
  openAuditFile(system.layer, flags.audit);
  const interrupt = interruptible();
  const handlers: ControlHandlers = {
    logs: (name) => system.log(name),
    stop: (name) => {
      // Stopped on request is no failure: a system stopped as a whole this way exits 0.
      if (name === undefined) return { stopping: system.stopAll('stopped by capsule stop') };
      return system.stopGuest(name, 'stopped by capsule stop') ? { stopping: [name] } : { error: `no running guest named '${name}'` };
    },
    suspendAll: async (target) => {
      try {
        const sealed = await system.suspendAll(target);
        say(`the system was suspended into ${sealed.file} (${sealed.bytes} bytes)`);
        return sealed;
      } catch (err) {
        return { error: err instanceof CapsuleError ? err.message : 'the suspension failed' };
      }
    },
  };
  let control: { close(): void } | undefined;
  try {
    await system.start();
    const served = await serveControl(system.layer, file, say, handlers);
    control = served;
    if (detached) {
      // Without its control socket a background system could be neither reached nor stopped.
      if (!served.served) throw new CapsuleError(ExitCode.UNAVAILABLE, 'cannot run in the background without the control socket');
      reportReady(guests.flatMap((g) => g.publish.map((text) => {
        const r = parsePublish(text, g.name);
        return `${r.hostAddress.includes(':') ? `[${r.hostAddress}]` : r.hostAddress}:${r.hostPort} -> ${g.name}:${r.guestPort}`;
      })));
    }
    const result = await system.run({ signal: interrupt.signal });
    if (flags.report !== undefined) writeReport(flags.report, result);
    return result.exitCode;
  } finally {
    interrupt.dispose();
    control?.close();
    system.close();
  }
}

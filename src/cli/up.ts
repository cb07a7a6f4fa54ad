// `capsule up system.json`: every guest of a system on one layer, sharing
// its virtual network. Output lines carry the guest's name; the command ends
// when every guest has; Ctrl-C stops them all.

import { serveControl } from '../api/control.js';
import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import { Layer } from '../api/layer.js';
import { run, setSpareEnclaves, type RunResult } from '../api/run.js';
import { prewarm } from '../enclave/pool.js';
import { loadModule } from '../module/load.js';
import { buildPolicy } from '../policy/document.js';
import { prefixedLines } from './prefix.js';
import { reportOutcome } from './report.js';
import { readSystemFile } from './system-file.js';
import { interruptible, openAuditFile, traceLine } from './session.js';

export interface UpFlags {
  audit?: string;
  traceSockets?: boolean;
  trapUnknownImports?: boolean;
}

export async function upCommand(file: string, flags: UpFlags): Promise<number> {
  const spec = readSystemFile(file);
  setSpareEnclaves(0);
  prewarm(spec.guests.length);
  // Every module is checked before any guest starts.
  await Promise.all(spec.guests.map((g) => loadModule(g.module, flags.trapUnknownImports ?? false)));

  // The system's grants, limits for each guest, and every guest's published ports.
  const policy = buildPolicy({ mounts: [], env: {}, limits: spec.limits, network: { ...spec.network, publish: [] } },
    spec.base, {}, undefined);
  try {
    policy.network.publish = spec.guests.flatMap((g) => buildPolicy(undefined, spec.base, { publish: g.publish }, g.name).network.publish);
  } catch (err) {
    if (err instanceof CapsuleError) throw new CapsuleError(ExitCode.CONFIG, `${file}: ${err.message.replace(/^flags: /, '')}`);
    throw err;
  }
  const peers = new Map(spec.guests.filter((g) => g.peers).map((g) => [g.name, new Set(g.peers)]));
  const layer = new Layer({
    mode: spec.mode,
    network: policy.network,
    queueBytes: policy.limits.queueBytes,
    maxSockets: policy.limits.maxSockets,
    canReach: (from, to) => from === to || (peers.get(from)?.has(to) ?? true),
    ...(flags.traceSockets ? { traceSockets: traceLine } : {}),
  });
  openAuditFile(layer, flags.audit);
  for (const g of spec.guests) layer.addGuest(g.name);
  let control: { close(): void } | undefined;
  const interrupt = interruptible();

  const width = Math.max(...spec.guests.map((g) => g.name.length));
  let firstFailure: number | undefined;
  try {
    await layer.start();
    control = await serveControl(layer, file);
    await Promise.all(spec.guests.map(async (g) => {
      const prefix = `${g.name.padEnd(width)} | `;
      const out = prefixedLines(prefix, process.stdout);
      const err = prefixedLines(prefix, process.stderr);
      let result: RunResult;
      try {
        result = await run(g.module, {
          layer, name: g.name, argv0: g.name, args: g.args, env: g.env, dirs: g.dirs, limits: policy.limits,
          stdout: out, stderr: err, signal: interrupt.signal, trapUnknownImports: flags.trapUnknownImports ?? false,
        });
      } finally {
        out.end();
        err.end();
      }
      reportOutcome(result, g.name);
      if (result.exitCode !== 0) firstFailure ??= result.exitCode;
    }));
  } finally {
    interrupt.dispose();
    control?.close();
    layer.close();
  }
  return firstFailure ?? 0;
}

// `capsule up system.json`: every guest of a system on one layer, sharing
// its virtual network. Output lines carry the guest's name; the command ends
// when every guest has; Ctrl-C stops them all.

import { serveControl } from '../api/control.js';
import { Layer } from '../api/layer.js';
import { networkPolicy, run, setSpareEnclaves, type RunResult } from '../api/run.js';
import { prewarm } from '../enclave/pool.js';
import { loadModule } from '../module/load.js';
import { parsePublish } from '../policy/network.js';
import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import { PolicyError } from '../policy/network.js';
import { prefixedLines } from './prefix.js';
import { reportOutcome } from './report.js';
import { readSystemFile } from './system-file.js';

export interface UpFlags {
  traceSockets?: boolean;
  trapUnknownImports?: boolean;
}

export async function upCommand(file: string, flags: UpFlags): Promise<number> {
  const spec = readSystemFile(file);
  setSpareEnclaves(0);
  prewarm(spec.guests.length);
  // Every module is checked before any guest starts.
  const modules = await Promise.all(spec.guests.map((g) => loadModule(g.module, flags.trapUnknownImports ?? false)));

  const policy = networkPolicy(spec.network);
  try {
    policy.publish = spec.guests.flatMap((g) => g.publish.map((p) => parsePublish(p, g.name)));
  } catch (err) {
    if (err instanceof PolicyError) throw new CapsuleError(ExitCode.CONFIG, `${file}: ${err.message}`);
    throw err;
  }
  const layer = new Layer({
    mode: spec.mode,
    network: policy,
    ...(flags.traceSockets ? { traceSockets: (l: string) => process.stderr.write(`[capsule] ${l}\n`) } : {}),
  });
  for (const g of spec.guests) layer.addGuest(g.name);
  await layer.start();
  const control = await serveControl(layer, file);

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    if (++interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSigint);

  const width = Math.max(...spec.guests.map((g) => g.name.length));
  let firstFailure: number | undefined;
  try {
    await Promise.all(spec.guests.map(async (g, i) => {
      const prefix = `${g.name.padEnd(width)} | `;
      const out = prefixedLines(prefix, process.stdout);
      const err = prefixedLines(prefix, process.stderr);
      let result: RunResult;
      try {
        result = await run(modules[i]!.module, {
          layer, name: g.name, argv0: g.name, args: g.args, env: g.env, dirs: g.dirs,
          stdout: out, stderr: err, signal: controller.signal, trapUnknownImports: flags.trapUnknownImports ?? false,
        });
      } finally {
        out.end();
        err.end();
      }
      reportOutcome(result, g.name);
      if (result.exitCode !== 0) {
        firstFailure ??= result.exitCode;
        if (result.outcome.kind !== 'exit') process.stderr.write(`capsule: ${g.name} exited with ${result.exitCode}\n`);
      }
    }));
  } finally {
    process.off('SIGINT', onSigint);
    control.close();
    layer.close();
  }
  return firstFailure ?? 0;
}

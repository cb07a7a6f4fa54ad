// `capsule resume FILE [policy flags]`: continues a sealed guest as a new
// enclave in this process, under the flags' policy (or, with none, the
// sealed one), with its control socket (`capsule ps`, `capsule suspend`
// again) and audit log like `capsule run`.

import { Command } from 'commander';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { setSpareEnclaves } from '../api/run.js';
import { reportOutcome, say } from './report.js';
import { optionsFrom, withPolicyFlags, type RunFlags } from './run-command.js';
import { interruptible, openAuditFile, traceLine } from './session.js';

interface ResumeFlags extends RunFlags {
  module?: string;
  allowPolicyChange?: boolean;
}

/** Whether `file` is a whole system's snapshot (its header authenticated with the key first). */
async function holdsSystem(file: string, key: Uint8Array | undefined): Promise<boolean> {
  const { SnapshotReader } = await import('../snapshot/unseal.js');
  const { sealKeyFromEnv } = await import('../snapshot/key.js');
  const k = key ?? sealKeyFromEnv();
  // Without a key the guest's resume says what is missing.
  if (k === undefined) return false;
  const reader = await SnapshotReader.open(file, k);
  await reader.close();
  return reader.header.system === true;
}

/** Continues a sealed system, as `capsule up` runs one (control socket, logs, suspend --all again). */
async function resumeSystemCommand(file: string, flags: ResumeFlags, sealKey: Uint8Array | undefined): Promise<number> {
  const given = ['module', 'allowPolicyChange', 'name'].filter((f) => (flags as unknown as Record<string, unknown>)[f] !== undefined);
  if (given.length > 0) throw new CapsuleError(ExitCode.USAGE, `a system's snapshot resumes as it was sealed: --${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply`);
  const { loadSystemSnapshot } = await import('../api/system-suspend.js');
  const { runSystem } = await import('./up.js');
  const system = await loadSystemSnapshot(file, {
    ...(sealKey ? { sealKey } : {}), ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.traceSockets ? { traceSockets: traceLine } : {}),
    onExit: (name, result) => reportOutcome(result, name),
  });
  return runSystem(system, file, { ...(flags.audit !== undefined ? { audit: flags.audit } : {}) }, false, system.options.guests.map((g) => ({ name: g.name, publish: g.publish ?? [] })));
}

async function resumeCommand(file: string, flags: ResumeFlags): Promise<number> {
  setSpareEnclaves(0);
  // Loaded on use: the CLI starts without the snapshot code.
  const { resume } = await import('../api/suspend.js');
  const { readSealKeyFile } = await import('../snapshot/key.js');
  const sealKey = flags.sealKey !== undefined ? readSealKeyFile(flags.sealKey) : undefined;
  if (await holdsSystem(file, sealKey)) return resumeSystemCommand(file, flags, sealKey);
  const { name: _name, argv0: _argv0, ...options } = await optionsFrom(flags);
  const interrupt = interruptible();
  try {
    const result = await resume(file, {
      ...options,
      ...(flags.module !== undefined ? { module: flags.module } : {}),
      ...(sealKey !== undefined ? { sealKey } : {}),
      allowPolicyChange: flags.allowPolicyChange ?? false,
      ...(flags.traceSockets ? { traceSockets: traceLine } : {}),
      stdin: 'inherit', stdout: 'inherit', stderr: 'inherit', signal: interrupt.signal,
      withLayer: async (layer) => {
        openAuditFile(layer, flags.audit);
        const { serveControl } = await import('../api/control.js');
        const control = await serveControl(layer, file, say);
        return () => control.close();
      },
    });
    reportOutcome(result, file);
    return result.exitCode;
  } finally {
    interrupt.dispose();
  }
}

export function resumeCommandSpec(exitCodesHelp: string): Command {
  return withPolicyFlags(new Command('resume')
    .description('continue a guest sealed by `capsule suspend`, or a system sealed by `capsule suspend --all`, as new enclaves')
    .argument('<snapshot>', 'the snapshot file')
    .option('--seal-key <file>', 'the key it was sealed with (default: CAPSULE_SEAL_KEY)')
    .option('--module <file>', 'the module to continue (default: where it was loaded from); it must be the one sealed')
    .option('--allow-policy-change', "let the flags' policy grant more than the sealed one (recorded in the audit log)")
    .option('--cache-dir <dir>', 'where prepared modules are cached (default ~/.cache/capsule)'))
    .option('--audit <file>', 'append the audit log (JSON lines) to FILE')
    .option('--trace-sockets', 'log every socket status change to stderr')
    .addHelpText('after', exitCodesHelp)
    .action(async (file: string, flags: ResumeFlags) => {
      process.exitCode = await resumeCommand(file, flags);
    });
}

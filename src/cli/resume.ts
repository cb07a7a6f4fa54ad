// `capsule resume FILE [policy flags]`: continues a sealed guest as a new
// enclave in this process, under the flags' policy (or, with none, the
// sealed one), with its control socket (`capsule ps`, `capsule suspend`
// again) and audit log like `capsule run`.

import { Command } from 'commander';
import { setSpareEnclaves } from '../api/run.js';
import { reportOutcome, say } from './report.js';
import { optionsFrom, withPolicyFlags, type RunFlags } from './run-command.js';
import { interruptible, openAuditFile, traceLine } from './session.js';

interface ResumeFlags extends RunFlags {
  module?: string;
  allowPolicyChange?: boolean;
}

async function resumeCommand(file: string, flags: ResumeFlags): Promise<number> {
  setSpareEnclaves(0);
  // Loaded on use: the CLI starts without the snapshot code.
  const { resume } = await import('../api/suspend.js');
  const { readSealKeyFile } = await import('../snapshot/key.js');
  const { name: _name, argv0: _argv0, ...options } = await optionsFrom(flags);
  const interrupt = interruptible();
  try {
    const result = await resume(file, {
      ...options,
      ...(flags.module !== undefined ? { module: flags.module } : {}),
      ...(flags.sealKey !== undefined ? { sealKey: readSealKeyFile(flags.sealKey) } : {}),
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
    .description('continue a guest sealed by `capsule suspend`, as a new enclave')
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

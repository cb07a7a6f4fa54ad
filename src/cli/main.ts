// `capsule`: the command line. Parses options with commander, runs the
// module through the API, and turns every failure into one line on stderr
// and a documented exit code.

import { Command, CommanderError, Option } from 'commander';
import { CapsuleError } from '../api/errors.js';
import { EXIT_CODE_HELP, ExitCode } from '../api/exit-codes.js';
import { run, setSpareEnclaves, type RunResult } from '../api/run.js';
import { parseDir, parseEnv } from './parse.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function exitCodesHelp(): string {
  return '\nExit codes:\n' + EXIT_CODE_HELP.map(([c, t]) => `  ${c.padEnd(7)} ${t}`).join('\n') + '\n';
}

interface RunFlags {
  dir: string[];
  env: string[];
  mode: 'normal' | 'secure';
  trapUnknownImports?: boolean;
  argv0?: string;
}

function report(result: RunResult, label: string): void {
  const o = result.outcome;
  switch (o.kind) {
    case 'exit': return;
    case 'signal': process.stderr.write(`capsule: ${label} ended by ${o.signal}\n`); return;
    case 'trap': process.stderr.write(`capsule: ${label} trapped: ${o.message}\n`); return;
    case 'limit': process.stderr.write(`capsule: ${label} stopped: ${o.message}\n`); return;
    case 'killed': process.stderr.write(`capsule: ${label} stopped: ${o.message}\n`); return;
    case 'failed': process.stderr.write(`capsule: ${o.message}\n`); return;
  }
}

async function runCommand(module: string, args: string[], flags: RunFlags): Promise<number> {
  // One guest per process: the thread pre-started by bin/capsule.js is all it needs.
  setSpareEnclaves(0);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    // First Ctrl-C stops the guest cleanly; a second one gives up waiting.
    if (++interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await run(module, {
      args,
      ...(flags.argv0 !== undefined ? { argv0: flags.argv0 } : {}),
      env: parseEnv(flags.env, process.env),
      dirs: flags.dir.map(parseDir),
      mode: flags.mode,
      stdin: 'inherit',
      stdout: 'inherit',
      stderr: 'inherit',
      trapUnknownImports: flags.trapUnknownImports ?? false,
      signal: controller.signal,
    });
    report(result, module);
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function program(): Command {
  const cli = new Command('capsule')
    .description('Run WebAssembly (WASI) programs in an isolated enclave under a deny-by-default policy.')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .addHelpText('after', exitCodesHelp());

  cli.command('run')
    .description('run a WASI command module')
    .argument('<module>', 'the .wasm file to run')
    .argument('[args...]', "the guest's arguments (put -- before any that look like options)")
    .passThroughOptions()
    .option('--dir <HOST::GUEST[:ro]>', 'mount a host directory at GUEST (repeatable); :ro makes it read-only', collect, [])
    .option('--env <NAME[=VALUE]>', 'set an environment variable; bare NAME passes the host value (repeatable)', collect, [])
    .addOption(new Option('--mode <mode>', 'secure: isolated enclave under policy; normal: calls go straight to the host')
      .choices(['secure', 'normal']).default('secure'))
    .option('--trap-unknown-imports', 'let imports Capsule does not provide trap when called instead of refusing the module')
    .option('--argv0 <name>', 'argv[0] as the guest sees it (default: the module file name)')
    .addHelpText('after', exitCodesHelp())
    .action(async (module: string, args: string[], flags: RunFlags) => {
      // `capsule run m.wasm -- --flag`: the "--" only marks where guest arguments start.
      const guestArgs = args[0] === '--' ? args.slice(1) : args;
      process.exitCode = await runCommand(module, guestArgs, flags);
    });
  return cli;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
        process.exitCode = 0;
        return;
      }
      const text = err.message.replace(/^error: /, '');
      process.stderr.write(`capsule: ${text} (see capsule --help)\n`);
      process.exitCode = ExitCode.USAGE;
      return;
    }
    if (err instanceof CapsuleError) {
      process.stderr.write(`capsule: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`capsule: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = ExitCode.INTERNAL;
  }
}

// `capsule`: the command line. One file per command; this one assembles
// them and turns every failure into one line on stderr and a documented exit
// code (never a stack trace for a user mistake).

import { Command, CommanderError } from 'commander';
import { readSnapshot } from '../api/control-client.js';
import { CapsuleError } from '../api/errors.js';
import { EXIT_CODE_HELP, ExitCode } from '../api/exit-codes.js';
import { escapeJson } from '../audit/escape.js';
import { formatTable, say } from './report.js';
import { chooseLayer } from './choose-layer.js';
import { runCommandSpec } from './run-command.js';

function exitCodesHelp(): string {
  return '\nExit codes:\n' + EXIT_CODE_HELP.map(([c, t]) => `  ${c.padEnd(7)} ${t}`).join('\n') + '\n';
}

async function socketsCommand(flags: { pid?: string; json?: boolean }): Promise<void> {
  const snapshot = await readSnapshot(await chooseLayer(flags.pid));
  process.stdout.write(flags.json ? escapeJson(JSON.stringify(snapshot, null, 2)) + '\n' : formatTable(snapshot));
}

async function program(): Promise<Command> {
  const help = exitCodesHelp();
  const cli = new Command('capsule')
    .description('Run WebAssembly (WASI) programs in an isolated enclave under a deny-by-default policy.')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .addHelpText('after', help);

  const runSpec = runCommandSpec(help);
  cli.addCommand(runSpec.copyInheritedSettings(cli));
  // `capsule --help` documents `run` in full too: it is the command most people need.
  cli.addHelpText('after', () => `\n${runSpec.helpInformation().replace(/\nExit codes:[\s\S]*$/, '')}`);

  cli.command('up')
    .description('run a system of guests (a JSON system file) on one layer with a shared virtual network')
    .argument('<system.json>', 'the system file (see README: guests, modules, args, env, dirs, publish, network, limits)')
    .option('--audit <file>', 'append the audit log (JSON lines) of every guest to FILE')
    .option('--trace-sockets', 'log every socket status change to stderr')
    .option('--trap-unknown-imports', 'let imports Capsule does not provide trap when called')
    .addHelpText('after', help)
    .action(async (file: string, flags: { audit?: string; traceSockets?: boolean; trapUnknownImports?: boolean }) => {
      // Loaded on use: the system-file schema is not needed to start `capsule run`.
      const { upCommand } = await import('./up.js');
      process.exitCode = await upCommand(file, flags);
    });

  cli.command('sockets')
    .description('print the live socket table of a running `capsule up` or `capsule run` (like ss)')
    .option('--pid <pid>', 'which running layer (default: the only one)')
    .option('--json', 'print JSON instead of a table')
    .action(socketsCommand);

  // Loaded on use, with what they need.
  cli.command('suspend')
    .description('seal a running guest (of `capsule run --suspendable`) into a snapshot; its process exits with 75')
    .argument('<name>', "the guest's name (see capsule ps)")
    .option('-o, --output <file>', 'the snapshot file to write')
    .option('--pid <pid>', 'which running layer (default: the one with that guest)')
    .addHelpText('after', help)
    .action(async (name: string, flags: { output?: string; pid?: string }) => {
      process.exitCode = await (await import('./suspend.js')).suspendCommand(name, flags);
    });
  cli.addCommand((await import('./resume.js')).resumeCommandSpec(help).copyInheritedSettings(cli));

  cli.command('ps')
    .description('list the guests of a running `capsule up` or `capsule run`: state, uptime, memory, CPU, descriptors, sockets')
    .option('--pid <pid>', 'which running layer (default: the only one)')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { pid?: string; json?: boolean }) => (await import('./ps.js')).psCommand(flags));
  return cli;
}

/**
 * A reader that went away (`capsule --help | head`) is not a failure: the
 * stream is closed from then on and writes to it are dropped. A running
 * guest hears of it as EPIPE on its next write (see api/run.ts); the exit
 * code stays what it would have been.
 */
function tolerateClosedReaders(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

export async function main(argv: string[]): Promise<void> {
  tolerateClosedReaders();
  try {
    if (argv.length <= 2) throw new CapsuleError(ExitCode.USAGE, 'no command given: use run, up, ps, sockets, suspend or resume (see capsule --help)');
    await (await program()).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
        process.exitCode = 0;
        return;
      }
      // An argument parser that threw our own error (a bad size, duration, ...).
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof CapsuleError) {
        say(cause.message);
        process.exitCode = cause.exitCode;
        return;
      }
      const text = err.message.replace(/^error: /, '');
      say(`${text} (see capsule --help)`);
      process.exitCode = ExitCode.USAGE;
      return;
    }
    if (err instanceof CapsuleError) {
      say(err.message);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`capsule: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = ExitCode.INTERNAL;
  }
}

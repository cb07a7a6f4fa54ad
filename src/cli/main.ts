// `capsule`: the command line. One file per command; this one assembles
// them and turns every failure into one line on stderr and a documented exit
// code (never a stack trace for a user mistake).

import { Command, CommanderError } from 'commander';
import { CapsuleError } from '../core/errors.js';
import { EXIT_CODE_HELP, ExitCode } from '../core/exit-codes.js';
import { capsuleVersion } from '../api/version.js';
import { say } from './report.js';
import { runCommandSpec } from './run-command.js';
import { addFleetCommands } from './fleet-commands.js';
import { saveCodeCaches } from '../core/code-cache.js';

function exitCodesHelp(): string {
  return '\nExit codes:\n' + EXIT_CODE_HELP.map(([c, t]) => `  ${c.padEnd(7)} ${t}`).join('\n') + '\n';
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

async function program(): Promise<Command> {
  const help = exitCodesHelp();
  const cli = new Command('capsule')
    .description('Run WebAssembly (WASI) programs in an isolated enclave under a deny-by-default policy.')
    .enablePositionalOptions()
    .version(capsuleVersion(), '-V, --version', "print Capsule's version")
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
    .argument('<system.json>', 'the system file (see README: guests, modules, args, env, dirs, publish, after, network, limits)')
    .option('-d, --detach', 'run the system in the background; reach it with capsule logs, sockets and stop')
    .option('--audit <file>', 'append the audit log (JSON lines) of every guest to FILE')
    .option('--report <file>', "write the system's result and each guest's usage as JSON to FILE")
    .option('--trace-sockets', 'log every socket status change to stderr')
    .option('--trap-unknown-imports', 'let imports Capsule does not provide trap when called')
    .option('--no-write-cache', 'write every small file write through at once instead of coalescing them (see README)')
    .option('--suspendable', 'prepare every guest so that `capsule suspend --all` can seal the whole system (needs a seal key)')
    .option('--seal-key <file>', 'the key the system is sealed with (default: CAPSULE_SEAL_KEY)')
    .option('--cache-dir <dir>', 'where prepared modules are cached (default ~/.cache/capsule)')
    .addHelpText('after', help)
    .action(async (file: string, flags: import('./up.js').UpFlags) => {
      // Loaded on use: the system-file schema is not needed to start `capsule run`.
      const { upCommand } = await import('./up.js');
      process.exitCode = await upCommand(file, flags);
    });

  cli.command('sockets')
    .description('print the live socket table of a running `capsule up` or `capsule run` (like ss)')
    .option('--pid <pid>', 'which running layer (default: the only one)')
    .option('--json', 'print JSON instead of a table')
    .option('-w, --watch', 'print the table again each time it changes, until the layer ends')
    .option('--guest <name>', "only this guest's sockets (repeatable)", collect, [])
    .option('--status <status>', 'only sockets in this status, e.g. LISTENING (repeatable)', collect, [])
    .option('--port <port>', 'only sockets with this local or remote port (repeatable)', collect, [])
    // Loaded on use (with node:net): `run` needs none of the client side.
    .action(async (flags: import('./sockets-command.js').SocketsFlags) => (await import('./sockets-command.js')).socketsCommand(flags));

  cli.command('logs')
    .description('print the recent output of a guest of a running `capsule up` or `capsule run`')
    .argument('<name>', "the guest's name")
    .option('--pid <pid>', 'which running layer (default: the only one)')
    .option('-f, --follow', 'keep printing its output as it comes, until it ends')
    .action(async (name: string, flags: { pid?: string; follow?: boolean }) => (await import('./control-commands.js')).logsCommand(name, flags));

  cli.command('stop')
    .description('stop one guest of a running `capsule up`, or the whole system (or a `capsule run`)')
    .argument('[name]', 'the guest to stop (default: every guest)')
    .option('--pid <pid>', 'which running layer (default: the only one)')
    .action(async (name: string | undefined, flags: { pid?: string }) => (await import('./control-commands.js')).stopCommand(name, flags));

  // Loaded on use, with what they need.
  cli.command('suspend')
    .description('seal a running guest (of `capsule run --suspendable`), or with --all a whole system (of `capsule up --suspendable`), into a snapshot; its process exits with 75')
    .argument('[name]', "the guest's name (see capsule ps)")
    .option('-o, --output <file>', 'the snapshot file to write')
    .option('--all', 'every guest of the system and its network, into one snapshot')
    .option('--pid <pid>', 'which running layer (default: the one with that guest, or the only one)')
    .addHelpText('after', help)
    .action(async (name: string | undefined, flags: { output?: string; pid?: string; all?: boolean }) => {
      process.exitCode = await (await import('./suspend.js')).suspendCommand(name, flags);
    });
  cli.addCommand((await import('./resume.js')).resumeCommandSpec(help).copyInheritedSettings(cli));

  cli.command('ps')
    .description('list the guests of a running `capsule up` or `capsule run`: state, uptime, memory, CPU, descriptors, sockets')
    .option('--pid <pid>', 'which running layer (default: the only one)')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { pid?: string; json?: boolean }) => (await import('./ps.js')).psCommand(flags));

  addFleetCommands(cli, help);
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
    if (argv.length <= 2) throw new CapsuleError(ExitCode.USAGE, 'no command given: use run, up, ps, sockets, logs, stop, suspend, resume, worker, submit or serve (see capsule --help)');
    await (await program()).parseAsync(argv);
    // A first run leaves the compiled CLI for the next (see core/code-cache.ts).
    saveCodeCaches();
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
      // Commander puts its suggestion on a second line: every error here is one line.
      const text = err.message.replace(/^error: /, '').replace(/\s*\n\s*\(Did you mean ([^)]*)\)/, ': did you mean $1').replace(/\s*\n\s*/g, ' ');
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

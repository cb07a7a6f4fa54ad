// `capsule`: the command line. Parses options with commander, runs the
// module through the API, and turns every failure into one line on stderr
// and a documented exit code.

import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CapsuleError } from '../api/errors.js';
import { EXIT_CODE_HELP, ExitCode } from '../api/exit-codes.js';
import { readSnapshot, runningLayers, serveControl } from '../api/control.js';
import { Layer } from '../api/layer.js';
import { networkPolicy, run, setSpareEnclaves } from '../api/run.js';
import { parseDir, parseEnv } from './parse.js';
import { formatTable, reportOutcome } from './report.js';
import { upCommand } from './up.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function exitCodesHelp(): string {
  return '\nExit codes:\n' + EXIT_CODE_HELP.map(([c, t]) => `  ${c.padEnd(7)} ${t}`).join('\n') + '\n';
}

interface RunFlags {
  dir: string[];
  env: string[];
  allowConnect: string[];
  allowDns?: boolean;
  publish: string[];
  traceSockets?: boolean;
  name?: string;
  mode: 'normal' | 'secure';
  trapUnknownImports?: boolean;
  argv0?: string;
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
  const name = flags.name ?? path.basename(module).replace(/\.wasm$/, '').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const layer = new Layer({
    mode: flags.mode,
    network: networkPolicy({ allowConnect: flags.allowConnect, allowDns: flags.allowDns ?? false, publish: flags.publish }, name),
    ...(flags.traceSockets ? { traceSockets: (line: string) => process.stderr.write(`[capsule] ${line}\n`) } : {}),
  });
  layer.addGuest(name);
  let control: { close(): void } | undefined;
  try {
    await layer.start();
    control = await serveControl(layer, module);
    const result = await run(module, {
      layer,
      name,
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
    reportOutcome(result, module);
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
    control?.close();
    layer.close();
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
    .option('--allow-connect <HOST:PORT>', 'let the guest connect out to HOST (name, IP or CIDR) on PORT (number, range or *) (repeatable)', collect, [])
    .option('--allow-dns', 'let the guest resolve any host name through the host')
    .option('--publish <[ADDR:]HOST_PORT:GUEST_PORT>', "make the guest's listening port reachable from the host (default address 127.0.0.1) (repeatable)", collect, [])
    .option('--name <name>', "the guest's name on the virtual network (default: the module file name)")
    .option('--trace-sockets', 'log every socket status change to stderr')
    .addHelpText('after', exitCodesHelp())
    .action(async (module: string, args: string[], flags: RunFlags) => {
      // `capsule run m.wasm -- --flag`: the "--" only marks where guest arguments start.
      const guestArgs = args[0] === '--' ? args.slice(1) : args;
      process.exitCode = await runCommand(module, guestArgs, flags);
    });
  cli.command('up')
    .description('run a system of guests (a JSON system file) on one layer with a shared virtual network')
    .argument('<system.json>', 'the system file (see README: guests, modules, args, env, dirs, publish, network)')
    .option('--trace-sockets', 'log every socket status change to stderr')
    .option('--trap-unknown-imports', 'let imports Capsule does not provide trap when called')
    .addHelpText('after', exitCodesHelp())
    .action(async (file: string, flags: { traceSockets?: boolean; trapUnknownImports?: boolean }) => {
      process.exitCode = await upCommand(file, flags);
    });

  cli.command('sockets')
    .description('print the live socket table of a running `capsule up` or `capsule run` (like ss)')
    .option('--pid <pid>', 'which running layer (default: the only one)')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { pid?: string; json?: boolean }) => {
      let pid: number;
      if (flags.pid !== undefined) {
        if (!/^\d+$/.test(flags.pid)) throw new CapsuleError(ExitCode.USAGE, `--pid '${flags.pid}' is not a process id`);
        pid = Number(flags.pid);
      } else {
        const running = runningLayers();
        if (running.length === 0) throw new CapsuleError(ExitCode.NO_INPUT, 'no running capsule layer found');
        if (running.length > 1) throw new CapsuleError(ExitCode.USAGE, `several layers are running (pids ${running.join(', ')}): choose one with --pid`);
        pid = running[0]!;
      }
      const snapshot = await readSnapshot(pid);
      process.stdout.write(flags.json ? JSON.stringify(snapshot, null, 2) + '\n' : formatTable(snapshot));
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

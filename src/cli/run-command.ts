// `capsule run [options] module.wasm [args...]`: one guest, its policy built
// from --policy FILE and the flags (which add to the file's lists and
// override its limits), an optional audit log and usage report.

import fs from 'node:fs';
import { Command, Option } from 'commander';
import { OutputLog } from '../api/output-log.js';
import { StopRequest } from '../enclave/launch.js';
import { defaultGuestName, layerFor, policyFor, runGuest, setSpareEnclaves, type RunOptions } from '../api/run.js';
import { readPolicyFile } from '../policy/document.js';
import { DEFAULT_LIMITS } from '../policy/policy.js';
import { formatSize } from '../core/units.js';
import { formatWasmValue } from '../module/invoke.js';
import { readSealKeyFile } from '../snapshot/key.js';
import { reportOutcome, say } from './report.js';
import { interruptible, openAuditFile, traceLine } from './session.js';
import { exitWhenFlushed } from './exit.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export interface RunFlags {
  policy?: string;
  dir: string[];
  tmpfs: string[];
  env: string[];
  envFile: string[];
  allowConnect: string[];
  denyConnect: string[];
  allowDns?: boolean;
  publish: string[];
  memory?: string;
  timeout?: string;
  maxFds?: string;
  maxSockets?: string;
  maxThreads?: string;
  maxQueueBytes?: string;
  maxCallBytes?: string;
  maxOutput?: string;
  audit?: string;
  report?: string;
  traceSockets?: boolean;
  name?: string;
  mode: 'normal' | 'secure';
  trapUnknownImports?: boolean;
  /** false with --no-write-cache. */
  writeCache?: boolean;
  argv0?: string;
  invoke?: string;
  suspendable?: boolean;
  sealKey?: string;
  cacheDir?: string;
}

export async function optionsFrom(flags: RunFlags): Promise<RunOptions> {
  const doc = flags.policy !== undefined ? await readPolicyFile(flags.policy) : undefined;
  const given = {
    memoryBytes: flags.memory, timeoutMs: flags.timeout, maxFds: flags.maxFds, maxSockets: flags.maxSockets, maxThreads: flags.maxThreads,
    queueBytes: flags.maxQueueBytes, callBytes: flags.maxCallBytes, outputBytes: flags.maxOutput,
  };
  // The flag schemas (and zod) load only when a flag that has one is given.
  const checked = flags.dir.length + flags.tmpfs.length + flags.env.length > 0 || flags.name !== undefined
    || Object.values(given).some((v) => v !== undefined);
  const parse = checked ? await import('./parse.js') : undefined;
  const fromFiles = flags.envFile.length > 0 ? await (await import('./env-file.js')).readEnvFiles(flags.envFile) : {};
  return {
    mode: flags.mode,
    ...(flags.name !== undefined ? { name: parse!.parseName(flags.name) } : {}),
    ...(doc ? { policy: doc.doc, policyBase: doc.base } : {}),
    // --env wins over --env-file, as in docker.
    env: { ...fromFiles, ...parse?.parseEnv(flags.env, process.env) },
    dirs: parse ? flags.dir.map(parse.parseDir) : [],
    tmpfs: parse ? Object.fromEntries(flags.tmpfs.map(parse.parseTmpfs)) : {},
    network: { allowConnect: flags.allowConnect, denyConnect: flags.denyConnect, allowDns: flags.allowDns ?? false, publish: flags.publish },
    limits: parse?.parseLimits(given) ?? {},
    ...(flags.argv0 !== undefined ? { argv0: flags.argv0 } : {}),
    trapUnknownImports: flags.trapUnknownImports ?? false,
    ...(flags.writeCache === false ? { writeCache: false } : {}),
    ...(flags.suspendable ? { suspendable: true } : {}),
    ...(flags.sealKey !== undefined ? { sealKey: readSealKeyFile(flags.sealKey) } : {}),
    ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
  };
}

async function runCommand(module: string, args: string[], flags: RunFlags): Promise<number> {
  // One guest per process: the thread pre-started by bin/capsule.js is all it needs.
  setSpareEnclaves(0);
  const options = await optionsFrom(flags);
  const name = options.name ?? defaultGuestName(module);
  const policy = await policyFor(options, name);
  const trace = flags.traceSockets ? traceLine : undefined;
  const layer = layerFor(policy, flags.mode, trace);
  openAuditFile(layer, flags.audit);
  const interrupt = interruptible();
  // Its recent output, for `capsule logs NAME`; `capsule stop` stops it as SIGTERM would.
  const log = new OutputLog();
  // The control socket (and node:net) is set up once the guest is running, not before it starts.
  let control: Promise<{ close(): void }> | undefined;
  const serve = (): void => {
    control ??= import('../api/control.js').then(({ serveControl }) => serveControl(layer, module, say, {
      logs: (n) => (n === name.toLowerCase() ? log : undefined),
      stop: (n) => {
        if (n !== undefined && n !== name.toLowerCase()) return { error: `no running guest named '${n}'` };
        interrupt.stop(new StopRequest('stopped by capsule stop', 'SIGTERM'));
        return { stopping: [name] };
      },
    })).catch((err: Error) => {
      say(`not serving the socket table: ${err.message}`);
      return { close() {} };
    });
  };
  try {
    await layer.start();
    // With --invoke the arguments are the function's, not the guest's argv.
    const call = flags.invoke !== undefined ? { invoke: { name: flags.invoke, args } } : { args };
    // The layer was made from the network and mode options: they are its now.
    const { network: _network, mode: _mode, ...own } = options;
    if (own.policy) own.policy = { ...own.policy, network: undefined };
    const result = await runGuest(module, {
      ...own, ...call, layer, stdin: 'inherit', stdout: 'inherit', stderr: 'inherit', signal: interrupt.signal,
      onOutput: (fd, bytes) => log.append(fd, bytes),
      onState: (e) => { if (e.to === 'running') serve(); },
    }, undefined, { exitNext: true });
    reportOutcome(result, module);
    // Printed as wasmtime prints them: one line per result.
    if (result.results) process.stdout.write(result.results.map((v) => `${formatWasmValue(v)}\n`).join(''));
    if (result.audit.deny > 0 && flags.audit === undefined && result.audit.first) {
      const f = result.audit.first;
      // The target and reason carry what the guest chose (bounded by the audit log; escaped by say()).
      say(`the policy denied ${result.audit.deny} call${result.audit.deny === 1 ? '' : 's'}; first: ${f.op} ${f.target}: ${f.reason}`);
    }
    if (flags.report !== undefined) {
      const { stdout: _o, stderr: _e, ...report } = result;
      fs.writeFileSync(flags.report, JSON.stringify(report, null, 2) + '\n');
    }
    return result.exitCode;
  } finally {
    log.end();
    interrupt.dispose();
    (await control)?.close();
    layer.close();
  }
}

/** The flags that make a guest's policy, shared by `run` and `resume`. */
export function withPolicyFlags(cmd: Command): Command {
  const L = DEFAULT_LIMITS;
  return cmd
    .option('--policy <file>', 'a JSON policy file (see README); the flags below add to it')
    .option('--dir <HOST::GUEST[:ro]>', 'mount a host directory at GUEST (repeatable); :ro makes it read-only', collect, [])
    .option('--tmpfs <GUEST[:SIZE]>', 'mount an in-memory directory at GUEST, default 64MiB (repeatable)', collect, [])
    .option('--env <NAME[=VALUE]>', 'set an environment variable; bare NAME passes the host value (repeatable)', collect, [])
    .option('--env-file <file>', 'read environment variables from FILE, one NAME=VALUE a line (dotenv format; --env wins) (repeatable)', collect, [])
    .option('--allow-connect <HOST:PORT>', 'let the guest connect out to HOST (name, IP or CIDR) on PORT (number, range or *) (repeatable)', collect, [])
    .option('--deny-connect <HOST:PORT>', 'refuse HOST:PORT even where a grant allows it (repeatable)', collect, [])
    .option('--allow-dns', 'let the guest resolve any host name through the host')
    .option('--publish <[ADDR:]HOST_PORT:GUEST_PORT>', "make the guest's listening port reachable from the host (default address 127.0.0.1) (repeatable)", collect, [])
    .option('--memory <size>', `linear memory limit (default ${formatSize(L.memoryBytes)})`)
    .option('--timeout <duration>', 'wall-time limit, e.g. 10s (default: none)')
    .option('--max-fds <n>', `open descriptor limit (default ${L.maxFds})`)
    .option('--max-sockets <n>', `open socket limit (default ${L.maxSockets})`)
    .option('--max-threads <n>', `guest threads at once, the main thread included (default ${L.maxThreads})`)
    .option('--max-queue-bytes <size>', `bytes queued per socket direction (default ${formatSize(L.queueBytes)})`)
    .option('--max-call-bytes <size>', `bytes one call may make the host allocate (default ${formatSize(L.callBytes)})`)
    .option('--max-output <size>', `output kept; past it the middle is cut, past twice it the guest stops (default ${formatSize(L.outputBytes)})`);
}

export function runCommandSpec(exitCodesHelp: string): Command {
  return withPolicyFlags(new Command('run')
    .description('run a WASI command module')
    .argument('<module>', 'the .wasm file to run')
    .argument('[args...]', "the guest's arguments (put -- before any that look like options)")
    .passThroughOptions()
    .addOption(new Option('--mode <mode>', 'secure: isolated enclave under policy; normal: calls go straight to the host, no policy')
      .choices(['secure', 'normal']).default('secure')))
    .option('--audit <file>', 'append the audit log (JSON lines) to FILE')
    .option('--report <file>', 'write the result and resource usage as JSON to FILE')
    .option('--name <name>', "the guest's name on the virtual network (default: the module file name)")
    .option('--argv0 <name>', 'argv[0] as the guest sees it (default: the module file name)')
    .option('--trace-sockets', 'log every socket status change to stderr')
    .option('--no-write-cache', 'write every small file write through at once instead of coalescing them (see README)')
    .option('--trap-unknown-imports', 'let imports Capsule does not provide trap when called instead of refusing the module')
    .option('--invoke <name>', 'call the exported function NAME instead of _start; the arguments after the module are its (i32, i64, f32, f64); results are printed')
    .option('--suspendable', 'prepare the guest so that `capsule suspend` can seal it into a snapshot (needs --seal-key or CAPSULE_SEAL_KEY)')
    .option('--seal-key <file>', 'the 32-byte key (raw or base64, a file only you can read) snapshots are sealed with')
    .option('--cache-dir <dir>', 'where modules prepared for --suspendable are cached (default ~/.cache/capsule)')
    .addHelpText('after', exitCodesHelp)
    .action(async (module: string, args: string[], flags: RunFlags) => {
      // `capsule run m.wasm -- --flag`: the "--" only marks where guest arguments start.
      const guestArgs = args[0] === '--' ? args.slice(1) : args;
      process.exitCode = await runCommand(module, guestArgs, flags);
      // Nothing is left to do: the process need not wait for the enclave thread's teardown.
      await exitWhenFlushed();
    });
}

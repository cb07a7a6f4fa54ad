// `capsule run [options] module.wasm [args...]`: one guest, its policy built
// from --policy FILE and the flags (which add to the file's lists and
// override its limits), an optional audit log and usage report.

import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { serveControl } from '../api/control.js';
import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import { layerFor, policyFor, run, setSpareEnclaves, type RunOptions } from '../api/run.js';
import { readPolicyFile } from '../policy/document.js';
import { DEFAULT_LIMITS, type Limits } from '../policy/policy.js';
import { formatSize, parseDuration, parseSize } from '../policy/units.js';
import { parseDir, parseEnv, parseTmpfs } from './parse.js';
import { reportOutcome } from './report.js';
import { interruptible, openAuditFile } from './session.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function usage(message: string): CapsuleError {
  return new CapsuleError(ExitCode.USAGE, message);
}

const sizeFlag = (flag: string) => (v: string): number => {
  const n = parseSize(v);
  if (n === undefined) throw usage(`${flag} '${v}': expected a size such as 256MiB, 64k or a number of bytes`);
  return n;
};
const countFlag = (flag: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw usage(`${flag} '${v}': expected a whole number`);
  return Number(v);
};
const durationFlag = (flag: string) => (v: string): number => {
  const n = parseDuration(v);
  if (n === undefined) throw usage(`${flag} '${v}': expected a duration such as 10s, 500ms or 2m`);
  return n;
};

interface RunFlags {
  policy?: string;
  dir: string[];
  tmpfs: string[];
  env: string[];
  allowConnect: string[];
  denyConnect: string[];
  allowDns?: boolean;
  publish: string[];
  memory?: number;
  timeout?: number;
  maxFds?: number;
  maxSockets?: number;
  maxQueueBytes?: number;
  maxCallBytes?: number;
  maxOutput?: number;
  audit?: string;
  report?: string;
  traceSockets?: boolean;
  name?: string;
  mode: 'normal' | 'secure';
  trapUnknownImports?: boolean;
  argv0?: string;
}

async function optionsFrom(flags: RunFlags, name: string): Promise<RunOptions> {
  const doc = flags.policy !== undefined ? await readPolicyFile(flags.policy) : undefined;
  const limits: Partial<Limits> = {
    ...(flags.memory !== undefined ? { memoryBytes: flags.memory } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.maxFds !== undefined ? { maxFds: flags.maxFds } : {}),
    ...(flags.maxSockets !== undefined ? { maxSockets: flags.maxSockets } : {}),
    ...(flags.maxQueueBytes !== undefined ? { queueBytes: flags.maxQueueBytes } : {}),
    ...(flags.maxCallBytes !== undefined ? { callBytes: flags.maxCallBytes } : {}),
    ...(flags.maxOutput !== undefined ? { outputBytes: flags.maxOutput } : {}),
  };
  return {
    name,
    mode: flags.mode,
    ...(doc ? { policy: doc.doc, policyBase: doc.base } : {}),
    env: parseEnv(flags.env, process.env),
    dirs: flags.dir.map(parseDir),
    tmpfs: Object.fromEntries(flags.tmpfs.map(parseTmpfs)),
    network: { allowConnect: flags.allowConnect, denyConnect: flags.denyConnect, allowDns: flags.allowDns ?? false, publish: flags.publish },
    limits,
    ...(flags.argv0 !== undefined ? { argv0: flags.argv0 } : {}),
    trapUnknownImports: flags.trapUnknownImports ?? false,
  };
}

async function runCommand(module: string, args: string[], flags: RunFlags): Promise<number> {
  // One guest per process: the thread pre-started by bin/capsule.js is all it needs.
  setSpareEnclaves(0);
  const name = flags.name ?? (path.basename(module).replace(/\.wasm$/, '').toLowerCase().replace(/[^a-z0-9-]/g, '-') || 'guest');
  const options = await optionsFrom(flags, name);
  const policy = await policyFor(options, name);
  const trace = flags.traceSockets ? (line: string) => { process.stderr.write(`[capsule] ${line}\n`); } : undefined;
  const layer = layerFor(policy, flags.mode, trace);
  openAuditFile(layer, flags.audit);
  const interrupt = interruptible();
  let control: { close(): void } | undefined;
  try {
    await layer.start();
    control = await serveControl(layer, module);
    const result = await run(module, {
      ...options, layer, args, stdin: 'inherit', stdout: 'inherit', stderr: 'inherit', signal: interrupt.signal,
    });
    reportOutcome(result, module);
    if (result.audit.deny > 0 && flags.audit === undefined && result.audit.first) {
      const f = result.audit.first;
      process.stderr.write(`capsule: the policy denied ${result.audit.deny} call${result.audit.deny === 1 ? '' : 's'}; ` +
        `first: ${f.op} ${f.target}: ${f.reason}\n`);
    }
    if (flags.report !== undefined) {
      const { stdout: _o, stderr: _e, ...report } = result;
      fs.writeFileSync(flags.report, JSON.stringify(report, null, 2) + '\n');
    }
    return result.exitCode;
  } finally {
    interrupt.dispose();
    control?.close();
    layer.close();
  }
}

export function runCommandSpec(exitCodesHelp: string): Command {
  const L = DEFAULT_LIMITS;
  return new Command('run')
    .description('run a WASI command module')
    .argument('<module>', 'the .wasm file to run')
    .argument('[args...]', "the guest's arguments (put -- before any that look like options)")
    .passThroughOptions()
    .addOption(new Option('--mode <mode>', 'secure: isolated enclave under policy; normal: calls go straight to the host, no policy')
      .choices(['secure', 'normal']).default('secure'))
    .option('--policy <file>', 'a JSON policy file (see README); the flags below add to it')
    .option('--dir <HOST::GUEST[:ro]>', 'mount a host directory at GUEST (repeatable); :ro makes it read-only', collect, [])
    .option('--tmpfs <GUEST[:SIZE]>', 'mount an in-memory directory at GUEST, default 64MiB (repeatable)', collect, [])
    .option('--env <NAME[=VALUE]>', 'set an environment variable; bare NAME passes the host value (repeatable)', collect, [])
    .option('--allow-connect <HOST:PORT>', 'let the guest connect out to HOST (name, IP or CIDR) on PORT (number, range or *) (repeatable)', collect, [])
    .option('--deny-connect <HOST:PORT>', 'refuse HOST:PORT even where a grant allows it (repeatable)', collect, [])
    .option('--allow-dns', 'let the guest resolve any host name through the host')
    .option('--publish <[ADDR:]HOST_PORT:GUEST_PORT>', "make the guest's listening port reachable from the host (default address 127.0.0.1) (repeatable)", collect, [])
    .option('--memory <size>', `linear memory limit (default ${formatSize(L.memoryBytes)})`, sizeFlag('--memory'))
    .option('--timeout <duration>', 'wall-time limit, e.g. 10s (default: none)', durationFlag('--timeout'))
    .option('--max-fds <n>', `open descriptor limit (default ${L.maxFds})`, countFlag('--max-fds'))
    .option('--max-sockets <n>', `open socket limit (default ${L.maxSockets})`, countFlag('--max-sockets'))
    .option('--max-queue-bytes <size>', `bytes queued per socket direction (default ${formatSize(L.queueBytes)})`, sizeFlag('--max-queue-bytes'))
    .option('--max-call-bytes <size>', `bytes one call may make the host allocate (default ${formatSize(L.callBytes)})`, sizeFlag('--max-call-bytes'))
    .option('--max-output <size>', `output kept; past it the middle is cut, past twice it the guest stops (default ${formatSize(L.outputBytes)})`, sizeFlag('--max-output'))
    .option('--audit <file>', 'append the audit log (JSON lines) to FILE')
    .option('--report <file>', 'write the result and resource usage as JSON to FILE')
    .option('--name <name>', "the guest's name on the virtual network (default: the module file name)")
    .option('--argv0 <name>', 'argv[0] as the guest sees it (default: the module file name)')
    .option('--trace-sockets', 'log every socket status change to stderr')
    .option('--trap-unknown-imports', 'let imports Capsule does not provide trap when called instead of refusing the module')
    .addHelpText('after', exitCodesHelp)
    .action(async (module: string, args: string[], flags: RunFlags) => {
      // `capsule run m.wasm -- --flag`: the "--" only marks where guest arguments start.
      const guestArgs = args[0] === '--' ? args.slice(1) : args;
      process.exitCode = await runCommand(module, guestArgs, flags);
    });
}

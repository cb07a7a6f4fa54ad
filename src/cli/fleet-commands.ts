// The fleet's commands: `capsule worker` (run jobs from a Redis queue),
// `capsule submit` (queue one job, or wait for it as `capsule run` would
// run it) and `capsule serve` (the HTTP API and dashboard). Their code is
// loaded only when one of them runs.

import { Command } from 'commander';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function addFleetCommands(cli: Command, exitCodesHelp: string): void {
  cli.command('worker')
    .description('run fleet jobs from a Redis queue, each in an enclave under its policy (SIGTERM drains)')
    .requiredOption('--redis <url>', 'the Redis server: redis://HOST:PORT[/DB] or unix:///PATH')
    .option('--concurrency <n>', "jobs run at once (default: the machine's cores)")
    .option('--queue <name>', 'the queue (default "jobs")')
    .option('--lock <duration>', "a job is given to another worker when its worker is silent this long (default 30s)")
    .option('--tenant-cap <n>', "running jobs per tenant across the fleet (default: no cap)")
    .option('--max-policy <file>', 'refuse jobs asking for more than this policy')
    .option('--seal-key <file>', "the fleet's 32-byte seal key: suspendable jobs are suspended on SIGTERM and resumed elsewhere (default: CAPSULE_SEAL_KEY)")
    .option('--fresh-thread-per-job', "start every job's enclave thread for it alone (default: a thread whose job ended cleanly takes the next)")
    .addHelpText('after', exitCodesHelp)
    .action(async (flags) => {
      const { workerCommand } = await import('./fleet.js');
      process.exitCode = await workerCommand(flags);
    });

  cli.command('submit')
    .description('queue a job on a fleet: print its id, or with --wait its output and exit status as `capsule run` would')
    .requiredOption('--redis <url>', 'the Redis server: redis://HOST:PORT[/DB] or unix:///PATH')
    .argument('<module>', 'the .wasm file to run')
    .argument('[args...]', "the guest's arguments (put -- before any that look like options)")
    .passThroughOptions()
    .option('--wait', "wait for the result: print the guest's output, exit with its status")
    .option('--queue <name>', 'the queue (default "jobs")')
    .option('--tenant <name>', 'the tenant the job counts against (default "default")')
    .option('--priority <n>', '1 runs first; default: after every prioritised job')
    .option('--attempts <n>', 'runs allowed if workers die (default 3)')
    .option('--suspendable', 'a worker that drains suspends the job and another resumes it where it stopped (no stdin, --input or --output)')
    .option('--idempotency-key <key>', 'the same key (per tenant) returns the first job instead of queueing another')
    .option('--input <DIR::GUEST[:tmpfs]>', 'send the files of DIR, mounted read-only at GUEST (:tmpfs: a private writable copy)')
    .option('--output <GUEST>', 'a writable mount whose files come back with the result (written below ./capsule-output with --wait)')
    .option('--policy <file>', 'a JSON policy file; the flags below add to it')
    .option('--env <NAME[=VALUE]>', 'set an environment variable (repeatable)', collect, [])
    .option('--tmpfs <GUEST[:SIZE]>', 'an in-memory mount (repeatable)', collect, [])
    .option('--allow-connect <HOST:PORT>', 'let the guest connect out (repeatable)', collect, [])
    .option('--allow-dns', 'let the guest resolve host names')
    .option('--memory <size>', 'linear memory limit')
    .option('--timeout <duration>', 'wall-time limit (default for jobs: 60s)')
    .option('--max-output <size>', 'output kept (default for jobs: 1MiB)')
    .addHelpText('after', exitCodesHelp)
    .action(async (module: string, args: string[], flags) => {
      const { submitCommand } = await import('./fleet.js');
      process.exitCode = await submitCommand(module, args[0] === '--' ? args.slice(1) : args, flags);
    });

  cli.command('serve')
    .description('serve the fleet over HTTP: a JSON API (bearer tokens) and a dashboard at /dashboard')
    .requiredOption('--redis <url>', 'the Redis server: redis://HOST:PORT[/DB] or unix:///PATH')
    .requiredOption('--http <port>', 'the port to listen on (0: any free port, printed)')
    .requiredOption('--tokens <file>', 'a JSON file of bearer tokens: {"tokens":[{"token":"...","tenant":"...","admin":false}]}')
    .option('--host <address>', 'the address to listen on (default 127.0.0.1)')
    .option('--queue <name>', 'the queue (default "jobs")')
    .option('--max-policy <file>', 'refuse jobs asking for more than this policy (default: no host mounts, no network)')
    .addHelpText('after', exitCodesHelp)
    .action(async (flags) => {
      const { serveCommand } = await import('./fleet.js');
      process.exitCode = await serveCommand(flags);
    });
}

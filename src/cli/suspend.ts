// `capsule suspend NAME -o FILE`: asks the running `capsule run --suspendable`
// (or `up`) that has guest NAME to seal it into FILE; `capsule suspend --all
// -o FILE` asks a `capsule up --suspendable` to seal its whole system. That
// process then exits with status 75. Waits for the snapshot to be written.

import path from 'node:path';
import { askLayer, pickLayer, runningLayers } from '../api/control-client.js';
import { parseGuestTable } from '../api/control-ps.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { say } from './report.js';

/** How long a suspension may take (a large memory on a slow disk). */
const SUSPEND_TIMEOUT_MS = 120_000;

/** The running layer with a guest named `name` (--pid, else the only one that has it). */
async function layerOf(name: string, pidFlag: string | undefined): Promise<number> {
  if (pidFlag !== undefined) {
    if (!/^\d+$/.test(pidFlag)) throw new CapsuleError(ExitCode.USAGE, `--pid '${pidFlag}' is not a process id`);
    return Number(pidFlag);
  }
  const having: number[] = [];
  for (const pid of await runningLayers()) {
    try {
      if (parseGuestTable(await askLayer(pid, 'ps'), pid).guests.some((g) => g.name === name)) having.push(pid);
    } catch { /* a layer that does not answer has no guest of ours to suspend */ }
  }
  if (having.length === 0) throw new CapsuleError(ExitCode.NO_INPUT, `no running guest named ${name}`);
  if (having.length > 1) throw new CapsuleError(ExitCode.USAGE, `several layers run a guest named ${name} (pids ${having.join(', ')}): choose one with --pid`);
  return having[0]!;
}

export async function suspendCommand(name: string | undefined, flags: { output?: string; pid?: string; all?: boolean }): Promise<number> {
  if (flags.output === undefined) throw new CapsuleError(ExitCode.USAGE, 'name the snapshot file with -o FILE');
  if (flags.all === true && name !== undefined) throw new CapsuleError(ExitCode.USAGE, 'give a guest name or --all, not both');
  if (flags.all !== true && name === undefined) throw new CapsuleError(ExitCode.USAGE, 'name the guest to suspend, or give --all for the whole system');
  const file = path.resolve(flags.output);
  const pid = flags.all === true ? await pickLayer(flags.pid) : await layerOf(name!.toLowerCase(), flags.pid);
  const request = flags.all === true ? { all: true, file } : { guest: name!.toLowerCase(), file };
  const text = await askLayer(pid, 'suspend', request, SUSPEND_TIMEOUT_MS);
  let answer: { error?: unknown; bytes?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`);
  }
  if (typeof answer.error === 'string') throw new CapsuleError(ExitCode.UNAVAILABLE, answer.error);
  if (!Number.isSafeInteger(answer.bytes)) throw new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`);
  say(`${flags.all === true ? `the system of layer ${pid}` : name!} suspended into ${file} (${answer.bytes as number} bytes)`);
  return 0;
}

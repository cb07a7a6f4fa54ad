// `capsule logs` and `capsule stop`: what a running `capsule up` (or
// `capsule run`) serves on its control socket besides the socket table.

import { layerEnded, pickLayer, readLogs, stopGuests } from '../api/control-client.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { say } from './report.js';

/** How long `capsule stop` waits for a whole system to end (its guests are stopped at once; output is flushed). */
const STOP_WAIT_MS = 15_000;

/** Writes a guest's kept output (stdout lines to stdout, stderr lines to stderr); with `follow`, until it ends. */
export async function logsCommand(name: string, flags: { pid?: string; follow?: boolean }): Promise<void> {
  const pid = await pickLayer(flags.pid);
  await readLogs(pid, name, flags.follow ?? false, (fd, bytes) => {
    (fd === 1 ? process.stdout : process.stderr).write(bytes);
  });
}

/** Stops guest `name`, or every guest of the layer and waits for it to end. */
export async function stopCommand(name: string | undefined, flags: { pid?: string }): Promise<void> {
  const pid = await pickLayer(flags.pid);
  const stopping = await stopGuests(pid, name);
  const names = stopping.map((n) => `'${n}'`).join(', ');
  if (name !== undefined) {
    say(`stopping ${names} (layer ${pid})`);
    return;
  }
  if (!(await layerEnded(pid, STOP_WAIT_MS))) throw new CapsuleError(ExitCode.UNAVAILABLE, `layer ${pid} was told to stop but still runs after ${STOP_WAIT_MS / 1000} s`);
  say(`stopped ${names} (layer ${pid})`);
}

// Which running layer a control-socket command (`capsule sockets`, `ps`) asks:
// the one named by --pid, else the only one running.

import { runningLayers } from '../api/control-client.js';
import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';

export async function chooseLayer(pidFlag: string | undefined): Promise<number> {
  if (pidFlag !== undefined) {
    if (!/^\d+$/.test(pidFlag)) throw new CapsuleError(ExitCode.USAGE, `--pid '${pidFlag}' is not a process id`);
    return Number(pidFlag);
  }
  const running = await runningLayers();
  if (running.length === 0) throw new CapsuleError(ExitCode.NO_INPUT, 'no running capsule layer found');
  if (running.length > 1) throw new CapsuleError(ExitCode.USAGE, `several layers are running (pids ${running.join(', ')}): choose one with --pid`);
  return running[0]!;
}

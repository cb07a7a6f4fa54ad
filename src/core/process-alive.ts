// Whether a process still exists, for what dead processes left behind
// (control sockets, snapshot temporary files).

/** True unless no process `pid` exists (one of another user's counts as existing). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

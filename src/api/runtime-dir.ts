// The per-user directory that holds control sockets (and the proofs of
// their clients). Its default under the shared temp directory is a name any
// local user can take first, as a directory of theirs, one open to all or a
// symlink to somewhere else; so the directory is used only once lstat shows
// a real directory of this user's that no one else can write. Being in such
// a directory is what makes a socket or proof file trustworthy: no other user
// (root aside) can create, replace or remove anything in it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { processAlive } from '../core/process-alive.js';

/** CAPSULE_RUNTIME_DIR, else $XDG_RUNTIME_DIR/capsule, else capsule-UID in the temp directory. */
export function runtimeDir(): string {
  const env = process.env;
  if (env['CAPSULE_RUNTIME_DIR']) return env['CAPSULE_RUNTIME_DIR'];
  if (env['XDG_RUNTIME_DIR']) return path.join(env['XDG_RUNTIME_DIR'], 'capsule');
  return path.join(os.tmpdir(), `capsule-${myUid()}`);
}

export function myUid(): number {
  return process.getuid?.() ?? os.userInfo().uid;
}

/** Why `st` (from lstat) is not a private directory of this user, or undefined if it is one. */
function notPrivate(st: fs.Stats): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is not a directory';
  if (st.uid !== myUid()) return `is owned by uid ${st.uid}, not ${myUid()}`;
  if ((st.mode & 0o022) !== 0) return `is writable by others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

function refuse(dir: string, why: string): CapsuleError {
  return new CapsuleError(ExitCode.NOT_PRIVATE, `runtime directory ${dir} ${why}: not using it`);
}

/**
 * The runtime directory, checked to be private to this user; created
 * (mode 0700, parents as needed) when `create` is set and it does not exist.
 * Undefined when it does not exist and `create` is not set. Throws a
 * CapsuleError (NOT_PRIVATE) naming what is wrong with an existing one.
 */
export function privateRuntimeDir(create: boolean): string | undefined {
  const dir = runtimeDir();
  if (create) {
    // Parents are the user's choice (the environment, the temp directory); only the last component may be shared.
    fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !create) return undefined;
    throw err;
  }
  const why = notPrivate(st);
  if (why !== undefined) throw refuse(dir, why);
  return dir;
}

/** Whether `file` (lstat, not followed) is a Unix socket owned by this user. */
export function ownSocket(file: string): boolean {
  try {
    const st = fs.lstatSync(file);
    return st.isSocket() && st.uid === myUid();
  } catch {
    return false;
  }
}

/** A control socket's name: the pid of the process serving it. */
export const SOCKET_NAME = /^(\d{1,10})\.sock$/;
const PROOF_NAME = /^proof-[0-9a-f]{32}$/;
/** A proof lives for one request (a few seconds at most); older ones were left by a client that was killed. */
const STALE_PROOF_MS = 60_000;

/**
 * Removes what ended processes left in the private runtime directory `dir`:
 * sockets of processes that no longer exist (a layer killed with SIGKILL
 * cannot remove its own) and old proof files. Only this user's sockets and
 * regular files are touched; a socket whose pid is alive stays (a client's
 * probe tells whether it still answers).
 */
export function sweepStale(dir: string, now = Date.now()): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const pid = SOCKET_NAME.exec(name)?.[1];
      if (pid !== undefined) {
        if (ownSocket(file) && !processAlive(Number(pid))) fs.rmSync(file, { force: true });
      } else if (PROOF_NAME.test(name)) {
        const st = fs.lstatSync(file);
        if (st.isFile() && st.uid === myUid() && now - st.mtimeMs > STALE_PROOF_MS) fs.rmSync(file, { force: true });
      }
    } catch {
      // Gone meanwhile, or removed by another sweeper: nothing to do.
    }
  }
}

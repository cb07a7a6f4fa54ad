// Whether the files a sealed guest had open can be opened again under a
// resume's mounts: checked before anything starts, so a mount that is gone,
// or read-only now while a file was open for writing, is refused in one
// line naming the file. (The open itself, in the enclave, then finds a file
// removed or a path that no longer leads to it.)

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { WRITE_INTENT } from '../core/witx.js';
import type { SealedFile, SealedOpenFile } from './payload.js';

/** The one line (80) refusing the resume of `name` over a file it had open. */
export function cannotReopen(name: string, f: SealedOpenFile, why: string): CapsuleError {
  return new CapsuleError(ExitCode.SNAPSHOT_MISMATCH, `cannot resume ${name}: it had ${f.path} open (fd ${f.fd}), which ${why}`);
}

/** Why a sealed file cannot be opened under a policy with these mounts, or undefined. */
export function policyRefusal(name: string, files: readonly SealedFile[], mounts: readonly { guest: string; readOnly: boolean }[]): CapsuleError | undefined {
  for (const f of files) {
    if (f.dupOf !== undefined) continue;
    const m = mounts.find((p) => p.guest === f.mount);
    if (m === undefined) return cannotReopen(name, f, `lies in the mount ${f.mount}, which the resume's policy does not grant`);
    if (m.readOnly && (Number(f.rightsBase) & WRITE_INTENT) !== 0) return cannotReopen(name, f, `was open for writing, and the resume mounts ${f.mount} read-only`);
  }
  return undefined;
}

// Parsing of the CLI's value syntaxes (--dir, --env), kept apart from
// commander so each rule is one function with a one-line error.

import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import type { DirMount } from '../api/run.js';
import { parseSize } from '../policy/units.js';

function usage(message: string): CapsuleError {
  return new CapsuleError(ExitCode.USAGE, message);
}

/** `HOST::GUEST[:ro]` or `HOST[:ro]` (guest path = host path), as wasmtime spells it. */
export function parseDir(spec: string): DirMount {
  let readOnly = false;
  let rest = spec;
  if (rest.endsWith(':ro')) {
    readOnly = true;
    rest = rest.slice(0, -3);
  } else if (rest.endsWith(':rw')) {
    rest = rest.slice(0, -3);
  }
  const sep = rest.indexOf('::');
  const host = sep === -1 ? rest : rest.slice(0, sep);
  const guest = sep === -1 ? rest : rest.slice(sep + 2);
  if (host === '') throw usage(`--dir '${spec}': the host directory is empty (expected HOST::GUEST[:ro])`);
  if (guest === '') throw usage(`--dir '${spec}': the guest path is empty (expected HOST::GUEST[:ro])`);
  if (guest.includes('::')) throw usage(`--dir '${spec}': more than one '::' (expected HOST::GUEST[:ro])`);
  return { host, guest, readOnly };
}

/** `NAME=VALUE`, or bare `NAME` to pass the host's value (skipped if the host has none). */
export function parseEnv(specs: string[], hostEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq === -1 ? spec : spec.slice(0, eq);
    if (name === '') throw usage(`--env '${spec}': the variable name is empty (expected NAME=VALUE)`);
    if (name.includes('\0') || spec.includes('\0')) throw usage(`--env '${spec}': contains a NUL byte`);
    if (eq === -1) {
      const value = hostEnv[name];
      if (value !== undefined) env[name] = value;
    } else {
      env[name] = spec.slice(eq + 1);
    }
  }
  return env;
}

/** `GUEST[:SIZE]` for --tmpfs; the size defaults to 64 MiB. */
export function parseTmpfs(spec: string): [string, number] {
  const colon = spec.lastIndexOf(':');
  const guest = colon === -1 ? spec : spec.slice(0, colon);
  const sizeText = colon === -1 ? undefined : spec.slice(colon + 1);
  if (guest === '') throw usage(`--tmpfs '${spec}': the guest path is empty (expected GUEST[:SIZE])`);
  const size = sizeText === undefined ? 64 * 1024 * 1024 : parseSize(sizeText);
  if (size === undefined) throw usage(`--tmpfs '${spec}': '${sizeText}' is not a size such as 64MiB`);
  return [guest, size];
}

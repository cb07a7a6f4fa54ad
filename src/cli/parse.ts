// The CLI's flag values, read by the same parsers that policy files, system
// files and run() use (policy/values.ts): one message per refusal, prefixed
// with the flag and the value as typed.

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { DirMount } from '../api/run.js';
import { escapeText } from '../audit/escape.js';
import type { Limits } from '../policy/policy.js';
import {
  LIMITS, parseDirSpec, parseEnvName, parseEnvValue, parseGuestName, parseTmpfsSpec, type LimitKey, type Parsed,
} from '../policy/values.js';

/** `value` read by `parse`; a refusal quotes `typed`, the whole value as the user typed it. */
function flagValue<T>(flag: string, parse: (v: string) => Parsed<T>, value: string, typed = value): T {
  const r = parse(value);
  if (!r.ok) throw new CapsuleError(ExitCode.USAGE, `${flag} '${escapeText(typed)}': ${escapeText(r.message)}`);
  return r.value;
}

/** `HOST::GUEST[:ro]` or `HOST[:ro]` (guest path = host path), as wasmtime spells it. */
export function parseDir(spec: string): DirMount {
  return flagValue('--dir', parseDirSpec, spec);
}

/** `GUEST[:SIZE]` for --tmpfs; the size defaults to 64 MiB. */
export function parseTmpfs(spec: string): [string, number] {
  const { guest, bytes } = flagValue('--tmpfs', parseTmpfsSpec, spec);
  return [guest, bytes];
}

/** `NAME=VALUE`, or bare `NAME` to pass the host's value (skipped if the host has none). */
export function parseEnv(specs: string[], hostEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = flagValue('--env', parseEnvName, eq === -1 ? spec : spec.slice(0, eq), spec);
    const value = eq === -1 ? hostEnv[name] : flagValue('--env', parseEnvValue, spec.slice(eq + 1), spec);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export function parseName(name: string): string {
  return flagValue('--name', parseGuestName, name);
}

/** The limit flags given (--memory, --max-fds, ...), as Limits fields. */
export function parseLimits(given: Partial<Record<LimitKey, string>>): Partial<Limits> {
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, flagValue(LIMITS[k as LimitKey].flag, LIMITS[k as LimitKey].parse, v!)]));
}

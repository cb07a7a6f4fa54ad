// The CLI's flag values, checked with the field schemas that policy files,
// system files and run() share (policy/fields.ts): one message per refusal,
// prefixed with the flag and the value as typed. Loaded only when a flag
// that has a schema is given.

import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import type { DirMount } from '../api/run.js';
import { escapeText } from '../audit/escape.js';
import { check, dirSpec, envName, envValue, guestName, LIMIT_FIELDS, tmpfsSpec, type LimitKey } from '../policy/fields.js';
import type { Limits } from '../policy/policy.js';
import type { z } from 'zod';

/** `value` checked by `schema`; a refusal quotes `typed`, the whole value as the user typed it. */
function flagValue<T>(flag: string, schema: z.ZodType<T, never> | z.ZodType<T>, value: string, typed = value): T {
  const r = check(schema, value);
  if (!r.ok) throw new CapsuleError(ExitCode.USAGE, `${flag} '${escapeText(typed)}': ${r.message}`);
  return r.value;
}

/** `HOST::GUEST[:ro]` or `HOST[:ro]` (guest path = host path), as wasmtime spells it. */
export function parseDir(spec: string): DirMount {
  return flagValue('--dir', dirSpec, spec);
}

/** `GUEST[:SIZE]` for --tmpfs; the size defaults to 64 MiB. */
export function parseTmpfs(spec: string): [string, number] {
  const { guest, bytes } = flagValue('--tmpfs', tmpfsSpec, spec);
  return [guest, bytes];
}

/** `NAME=VALUE`, or bare `NAME` to pass the host's value (skipped if the host has none). */
export function parseEnv(specs: string[], hostEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = flagValue('--env', envName, eq === -1 ? spec : spec.slice(0, eq), spec);
    const value = eq === -1 ? hostEnv[name] : flagValue('--env', envValue, spec.slice(eq + 1), spec);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export function parseName(name: string): string {
  return flagValue('--name', guestName, name);
}

/** The limit flags given (--memory, --max-fds, ...), as Limits fields. */
export function parseLimits(given: Partial<Record<LimitKey, string>>): Partial<Limits> {
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, flagValue(LIMIT_FIELDS[k as LimitKey].flag, LIMIT_FIELDS[k as LimitKey].value, v!)]));
}

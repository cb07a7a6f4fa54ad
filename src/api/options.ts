// Checks run()'s own options (name, dirs, tmpfs, env, limits) with the same
// field schemas as flags and policy files: a value refused there is refused
// here with the same message, as a CapsuleError (USAGE) naming the option.

import { z } from 'zod';
import { check, strictObject, guestName, guestPath, LIMIT_FIELDS, tmpfsSize, type LimitKey } from '../policy/fields.js';
import { envSchema, hostMount } from '../policy/schema.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { RunOptions } from './run.js';

const limitKeys = Object.keys(LIMIT_FIELDS) as LimitKey[];

const optionsSchema = z.object({
  name: guestName.optional(),
  dirs: z.array(strictObject({
    ...hostMount.shape,
    quota: strictObject({
      bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      entries: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    }).optional(),
  })).optional(),
  tmpfs: z.record(guestPath, tmpfsSize).optional(),
  env: envSchema.optional(),
  // undefined leaves a limit as the policy has it.
  // Numbers (bytes, ms) or text as files write them ("64MiB", "10s").
  limits: strictObject(Object.fromEntries(limitKeys.map((k) => [k, LIMIT_FIELDS[k].value.optional()]))).optional(),
  timeoutMs: LIMIT_FIELDS.timeoutMs.value.optional(),
});

/** Throws CapsuleError(USAGE) "option: what was expected" for the first value the schema refuses. */
export function checkRunOptions(options: RunOptions): void {
  const { name, dirs, tmpfs, env, limits, timeoutMs } = options;
  const r = check(optionsSchema, { name, dirs, tmpfs, env, limits, timeoutMs });
  if (!r.ok) throw new CapsuleError(ExitCode.USAGE, `${r.field}: ${r.message}`);
}

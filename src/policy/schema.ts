// The schema of a policy document (see document.ts), built from the field
// schemas every other channel uses too (fields.ts). Loaded only when a
// document has to be checked.

import { z } from 'zod';
import { check, dirSpec, strictObject, envName, envValue, guestPath, hostPath, LIMIT_FIELDS, tmpfsSize, type LimitKey } from './fields.js';
import type { Limits } from './policy.js';
import type { ParsedPolicy } from './document.js';

const limitKeys = Object.keys(LIMIT_FIELDS) as LimitKey[];

/** `limits` as files write them (memory, timeout, maxOutput, ...), made into Limits fields in bytes and ms. */
export const limitsSchema = strictObject(Object.fromEntries(limitKeys.map((k) => [LIMIT_FIELDS[k].field, LIMIT_FIELDS[k].value.optional()])))
  .transform((l): Partial<Limits> => Object.fromEntries(limitKeys.flatMap((k) => {
    const v = (l as Record<string, number | undefined>)[LIMIT_FIELDS[k].field];
    return v === undefined ? [] : [[k, v]];
  })));

const envRecord = z.record(envName, envValue);
/**
 * The environment, every name kept alike: zod's record output would assign
 * `__proto__` (setting the prototype, so the variable vanished) where it
 * keeps `constructor`. Checked as a record, then copied as own entries.
 */
export const envSchema = z.unknown().transform((raw, ctx): Record<string, string> => {
  const r = envRecord.safeParse(raw);
  if (r.success) return Object.fromEntries(Object.entries(raw as Record<string, string>));
  for (const issue of r.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER as never;
});

/** A host-directory mount as an object: the form of policy files and of run()'s `dirs`. */
export const hostMount = strictObject({ host: hostPath, guest: guestPath, readOnly: z.boolean().optional() });

/** A mount of the system file: the --dir spelling or the object form. */
export const dirEntry = z.union([dirSpec, hostMount.transform((m) => ({ ...m, readOnly: m.readOnly ?? false }))]);

const policySchema = strictObject({
  version: z.literal(1).optional(),
  mounts: z.array(z.union([
    hostMount.transform((m) => ({ host: m.host, guest: m.guest, readOnly: m.readOnly ?? false })),
    strictObject({ tmpfs: tmpfsSize, guest: guestPath }).transform((m) => ({ guest: m.guest, readOnly: false, tmpfsBytes: m.tmpfs })),
  ])).default([]),
  env: envSchema.default({}),
  network: strictObject({
    allowConnect: z.array(z.string()).default([]),
    denyConnect: z.array(z.string()).default([]),
    allowDns: z.boolean().default(false),
    publish: z.array(z.string()).default([]),
  }).default({ allowConnect: [], denyConnect: [], allowDns: false, publish: [] }),
  limits: limitsSchema.default({}),
  writeCache: z.boolean().default(true),
});

/** The document made into grants, or its first problem as "field: what was expected". */
export function parsePolicy(raw: unknown): { ok: true; value: ParsedPolicy } | { ok: false; problem: string } {
  const r = check(policySchema, raw);
  return r.ok ? r : { ok: false, problem: `${r.field}: ${r.message}` };
}

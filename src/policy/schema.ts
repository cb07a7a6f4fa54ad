// The schema of a policy document (see document.ts), loaded only when a
// document has to be checked: validation libraries are large, and start-up
// without a policy file should not pay for one.

import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';
import type { PolicyDocument } from './document.js';

const size = z.union([z.number(), z.string()]).refine((v) => parseSize(v) !== undefined,
  { message: 'expected a size: a number of bytes or a string such as "256MiB", "64k", "1GB"' });
const duration = z.union([z.number(), z.string()]).refine((v) => parseDuration(v) !== undefined,
  { message: 'expected a duration: milliseconds or a string such as "10s", "500ms", "2m"' });
const count = z.number().int().min(1).max(1 << 20);

export const limitsSchema = z.object({
  memory: size.optional(),
  timeout: duration.optional(),
  maxFds: count.optional(),
  maxSockets: z.number().int().min(0).max(1 << 20).optional(),
  queueBytes: size.optional(),
  callBytes: size.optional(),
  maxOutput: size.optional(),
}).strict();

export const policySchema = z.object({
  version: z.literal(1).optional(),
  mounts: z.array(z.union([
    z.object({ host: z.string().min(1), guest: z.string().min(1), readOnly: z.boolean().optional() }).strict(),
    z.object({ tmpfs: size, guest: z.string().min(1) }).strict(),
  ])).optional(),
  env: z.record(z.string().regex(/^[^=\0]+$/, 'a variable name without "=" or NUL'), z.string()).optional(),
  network: z.object({
    allowConnect: z.array(z.string()).optional(),
    denyConnect: z.array(z.string()).optional(),
    allowDns: z.boolean().optional(),
    publish: z.array(z.string()).optional(),
  }).strict().optional(),
  limits: limitsSchema.optional(),
}).strict() satisfies z.ZodType<PolicyDocument>;

function fieldPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** The first problem with `raw` as "field: what was expected", or undefined if it is a valid document. */
export function policyProblem(raw: unknown): string | undefined {
  const r = policySchema.safeParse(raw);
  if (r.success) return undefined;
  const issue = r.error.issues[0]!;
  return `${fieldPath(issue.path) || '(top level)'}: ${issue.message}`;
}

export { fieldPath };

// The policy as a document: the JSON of `--policy FILE`, and the object the
// API takes. Validated with a schema; an error names the exact field and
// what was expected. Turned into a Policy by buildPolicy().

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import { emptyNetworkPolicy, parseConnectGrant, parsePublish, PolicyError } from './network.js';
import { DEFAULT_LIMITS, type Limits, type MountGrant, type Policy } from './policy.js';
import { parseDuration, parseSize } from './units.js';

const size = z.union([z.number(), z.string()]).refine((v) => parseSize(v) !== undefined,
  { message: 'expected a size: a number of bytes or a string such as "256MiB", "64k", "1GB"' });
const duration = z.union([z.number(), z.string()]).refine((v) => parseDuration(v) !== undefined,
  { message: 'expected a duration: milliseconds or a string such as "10s", "500ms", "2m"' });
const count = z.number().int().min(1).max(1 << 20);

export const policySchema = z.object({
  version: z.literal(1).optional(),
  mounts: z.array(z.union([
    z.object({ host: z.string().min(1), guest: z.string().min(1), readOnly: z.boolean().default(false) }).strict(),
    z.object({ tmpfs: size, guest: z.string().min(1) }).strict(),
  ])).default([]),
  env: z.record(z.string().regex(/^[^=\0]+$/, 'a variable name without "=" or NUL'), z.string()).default({}),
  network: z.object({
    allowConnect: z.array(z.string()).default([]),
    denyConnect: z.array(z.string()).default([]),
    allowDns: z.boolean().default(false),
    publish: z.array(z.string()).default([]),
  }).strict().default({ allowConnect: [], denyConnect: [], allowDns: false, publish: [] }),
  limits: z.object({
    memory: size.optional(),
    timeout: duration.optional(),
    maxFds: count.optional(),
    maxSockets: z.number().int().min(0).max(1 << 20).optional(),
    queueBytes: size.optional(),
    callBytes: size.optional(),
    maxOutput: size.optional(),
  }).strict().default({}),
}).strict();

export type PolicyDocument = z.input<typeof policySchema>;

function fieldPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** Validates a document; throws CapsuleError(CONFIG) naming the field. `where` prefixes the message. */
export function parsePolicyDocument(raw: unknown, where: string): z.output<typeof policySchema> {
  const r = policySchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new CapsuleError(ExitCode.CONFIG, `${where}: ${fieldPath(issue.path) || '(top level)'}: ${issue.message}`);
}

export function readPolicyFile(file: string): { doc: z.output<typeof policySchema>; base: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CapsuleError(ExitCode.NO_INPUT, `cannot read policy file '${file}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CapsuleError(ExitCode.CONFIG, `${file}: not valid JSON: ${(err as Error).message}`);
  }
  return { doc: parsePolicyDocument(raw, file), base: path.dirname(path.resolve(file)) };
}

/** What flags and API options add on top of a document. */
export interface PolicyAdditions {
  mounts?: MountGrant[];
  env?: Record<string, string>;
  allowConnect?: string[];
  denyConnect?: string[];
  allowDns?: boolean;
  publish?: string[];
  limits?: Partial<Limits>;
}

/**
 * The Policy from a validated document (host paths relative to `base`) plus
 * additions: lists are appended, scalars from the additions win.
 */
export function buildPolicy(doc: z.output<typeof policySchema> | undefined, base: string, add: PolicyAdditions = {}, guest?: string): Policy {
  const d = doc ?? policySchema.parse({});
  const mounts: MountGrant[] = d.mounts.map((m) => 'tmpfs' in m
    ? { guest: m.guest, readOnly: false, tmpfsBytes: parseSize(m.tmpfs)! }
    : { host: path.resolve(base, m.host), guest: m.guest, readOnly: m.readOnly });
  const network = emptyNetworkPolicy();
  const where = doc ? 'policy' : 'flags';
  try {
    network.allowConnect = [...d.network.allowConnect, ...(add.allowConnect ?? [])].map(parseConnectGrant);
    network.denyConnect = [...d.network.denyConnect, ...(add.denyConnect ?? [])].map(parseConnectGrant);
    network.publish = [...d.network.publish, ...(add.publish ?? [])].map((p) => parsePublish(p, guest));
  } catch (err) {
    if (err instanceof PolicyError) throw new CapsuleError(doc ? ExitCode.CONFIG : ExitCode.USAGE, `${where}: ${err.message}`);
    throw err;
  }
  network.allowDns = add.allowDns || d.network.allowDns;
  const l = d.limits;
  const limits: Limits = {
    memoryBytes: l.memory !== undefined ? parseSize(l.memory)! : DEFAULT_LIMITS.memoryBytes,
    timeoutMs: l.timeout !== undefined ? parseDuration(l.timeout)! : DEFAULT_LIMITS.timeoutMs,
    maxFds: l.maxFds ?? DEFAULT_LIMITS.maxFds,
    maxSockets: l.maxSockets ?? DEFAULT_LIMITS.maxSockets,
    queueBytes: l.queueBytes !== undefined ? parseSize(l.queueBytes)! : DEFAULT_LIMITS.queueBytes,
    callBytes: l.callBytes !== undefined ? parseSize(l.callBytes)! : DEFAULT_LIMITS.callBytes,
    outputBytes: l.maxOutput !== undefined ? parseSize(l.maxOutput)! : DEFAULT_LIMITS.outputBytes,
    ...Object.fromEntries(Object.entries(add.limits ?? {}).filter(([, v]) => v !== undefined)),
  };
  return { mounts: [...mounts, ...(add.mounts ?? [])], env: { ...d.env, ...add.env }, network, limits };
}

export { PolicyError };

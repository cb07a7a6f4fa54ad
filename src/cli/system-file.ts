// The system file of `capsule up`: several guests on one layer. Checked
// with the field schemas flags and policy files share (policy/fields.ts);
// an error names the exact field and what was expected.
//
// {
//   "mode": "secure",                        optional, default secure
//   "network": {                             optional: grants for the whole system
//     "allowConnect": ["api.example.com:443"], "denyConnect": [], "allowDns": false
//   },
//   "guests": [
//     { "name": "server", "module": "server.wasm", "args": ["7000"],
//       "env": { "KEY": "value" }, "dirs": ["data::/data:ro"], "publish": ["8080:7000"],
//       "peers": ["db"],                      optional: the guests it may reach (default: all of them)
//       "after": { "db": 5432 } }              optional: start once guest db listens on TCP port 5432
//   ],
//   "readyTimeout": "30s"                    optional: longest a guest waits for its "after" (0: no limit)
//   "limits": { "memory": "128MiB", "timeout": "30s" }   optional: as in a policy file, per guest
//   "onFailure": "stop"                      optional: "stop" (default) stops every guest when one fails; "continue"
//   "suspendable": true, "sealKey": "seal.key"   optional: as --suspendable and --seal-key (`capsule suspend --all`)
// }
// Module and directory paths are relative to the system file.

import path from 'node:path';
import { z } from 'zod';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { MAX_DOCUMENT_BYTES, readRegularFile, UnreadableFile } from '../core/read-file.js';
import { parseJsonDocument } from '../policy/json.js';
import type { DirMount } from '../api/run.js';
import { check, guestName, strictObject } from '../policy/fields.js';
import type { Limits } from '../policy/policy.js';
import { dirEntry, envSchema, limitsSchema } from '../policy/schema.js';
import { checkStartOrder } from '../api/start-order.js';
import { DEFAULT_READY_TIMEOUT_MS } from '../api/system.js';
import { LIMIT_FIELDS } from '../policy/fields.js';

const afterRecord = z.record(z.string(), z.number().int().min(1).max(65535));
/** Guest name -> port, every name kept (zod's record output would drop `__proto__`, so the wait would vanish). */
const afterSchema = z.unknown().transform((raw, ctx): Record<string, number> => {
  const r = afterRecord.safeParse(raw);
  if (r.success) return Object.fromEntries(Object.entries(raw as Record<string, number>));
  for (const issue of r.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER as never;
});

const guest = strictObject({
  name: guestName,
  module: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: envSchema.default({}),
  dirs: z.array(dirEntry).default([]),
  publish: z.array(z.string()).default([]),
  peers: z.array(guestName).optional(),
  after: afterSchema.optional(),
});

const system = strictObject({
  mode: z.enum(['secure', 'normal']).default('secure'),
  network: strictObject({
    allowConnect: z.array(z.string()).default([]),
    denyConnect: z.array(z.string()).default([]),
    allowDns: z.boolean().default(false),
  }).default({ allowConnect: [], denyConnect: [], allowDns: false }),
  limits: limitsSchema.default({}),
  onFailure: z.enum(['stop', 'continue']).default('stop'),
  readyTimeout: LIMIT_FIELDS.timeoutMs.value.optional(),
  suspendable: z.boolean().optional(),
  sealKey: z.string().min(1).optional(),
  guests: z.array(guest).min(1, 'at least one guest'),
});

export interface SystemGuest {
  name: string;
  module: string;
  args: string[];
  env: Record<string, string>;
  dirs: DirMount[];
  publish: string[];
  /** Guests it may reach; undefined: every guest of the system. */
  peers: string[] | undefined;
  /** Guest name -> TCP port it must listen on before this one starts. */
  after: Record<string, number> | undefined;
}

export interface SystemSpec {
  mode: 'secure' | 'normal';
  network: { allowConnect: string[]; denyConnect: string[]; allowDns: boolean };
  limits: Partial<Limits>;
  guests: SystemGuest[];
  /** Whether the first guest to fail stops the others. */
  onFailure: 'stop' | 'continue';
  /** Where relative paths resolve. */
  base: string;
  /** Longest a guest waits for its "after" (ms; 0: no limit). */
  readyTimeoutMs: number;
  /** Prepared so that `capsule suspend --all` can seal it. */
  suspendable: boolean;
  /** The seal key's file (absolute), if the system file names one. */
  sealKey: string | undefined;
}

function configError(file: string, message: string): CapsuleError {
  return new CapsuleError(ExitCode.CONFIG, `${file}: ${message}`);
}

export async function readSystemFile(file: string): Promise<SystemSpec> {
  let text: string;
  try {
    text = (await readRegularFile(file, MAX_DOCUMENT_BYTES)).toString('utf8');
  } catch (err) {
    if (!(err instanceof UnreadableFile)) throw err;
    throw new CapsuleError(ExitCode.NO_INPUT, `cannot read system file '${file}': ${err.message}`);
  }
  const json = await parseJsonDocument(text);
  if (!json.ok) throw configError(file, json.message);
  const raw = json.value;
  const parsed = check(system, raw);
  if (!parsed.ok) throw configError(file, `${parsed.field}: ${parsed.message}`);
  const spec = parsed.value;
  const seen = new Set<string>();
  const base = path.dirname(path.resolve(file));
  const guests = spec.guests.map((g, i): SystemGuest => {
    if (seen.has(g.name)) throw configError(file, `guests[${i}].name: '${g.name}' is used by another guest`);
    seen.add(g.name);
    const dirs = g.dirs.map((d): DirMount => ({ ...d, host: path.resolve(base, d.host) }));
    return { name: g.name, module: path.resolve(base, g.module), args: g.args, env: g.env, dirs, publish: g.publish, peers: g.peers, after: g.after };
  });
  for (const [i, g] of guests.entries()) {
    const unknown = g.peers?.find((p) => !seen.has(p));
    if (unknown) throw configError(file, `guests[${i}].peers: '${unknown}' is not a guest of this system`);
  }
  try {
    checkStartOrder(guests);
  } catch (err) {
    if (err instanceof CapsuleError) throw configError(file, err.message);
    throw err;
  }
  return {
    mode: spec.mode, network: spec.network, limits: spec.limits, onFailure: spec.onFailure, guests, base,
    readyTimeoutMs: spec.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS,
    suspendable: spec.suspendable ?? false, sealKey: spec.sealKey !== undefined ? path.resolve(base, spec.sealKey) : undefined,
  };
}

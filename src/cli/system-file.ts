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
//       "peers": ["db"] }                     optional: the guests it may reach (default: all of them)
//   ],
//   "limits": { "memory": "128MiB", "timeout": "30s" }   optional: as in a policy file, per guest
//   "onFailure": "stop"                      optional: "stop" (default) stops every guest when one fails; "continue"
// }
// Module and directory paths are relative to the system file.

import path from 'node:path';
import { z } from 'zod';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { MAX_DOCUMENT_BYTES, readRegularFile, UnreadableFile } from '../core/read-file.js';
import { duplicateKey } from '../policy/json.js';
import type { DirMount } from '../api/run.js';
import { check, guestName } from '../policy/fields.js';
import type { Limits } from '../policy/policy.js';
import { dirEntry, envSchema, limitsSchema } from '../policy/schema.js';

const guest = z.object({
  name: guestName,
  module: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: envSchema.default({}),
  dirs: z.array(dirEntry).default([]),
  publish: z.array(z.string()).default([]),
  peers: z.array(guestName).optional(),
}).strict();

const system = z.object({
  mode: z.enum(['secure', 'normal']).default('secure'),
  network: z.object({
    allowConnect: z.array(z.string()).default([]),
    denyConnect: z.array(z.string()).default([]),
    allowDns: z.boolean().default(false),
  }).strict().default({ allowConnect: [], denyConnect: [], allowDns: false }),
  limits: limitsSchema.default({}),
  onFailure: z.enum(['stop', 'continue']).default('stop'),
  guests: z.array(guest).min(1, 'at least one guest'),
}).strict();

export interface SystemGuest {
  name: string;
  module: string;
  args: string[];
  env: Record<string, string>;
  dirs: DirMount[];
  publish: string[];
  /** Guests it may reach; undefined: every guest of the system. */
  peers: string[] | undefined;
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
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw configError(file, `not valid JSON: ${(err as Error).message}`);
  }
  const twice = duplicateKey(text);
  if (twice) throw configError(file, `${twice.where}: key '${twice.key}' appears twice in one object`);
  const parsed = check(system, raw);
  if (!parsed.ok) throw configError(file, `${parsed.field}: ${parsed.message}`);
  const spec = parsed.value;
  const seen = new Set<string>();
  const base = path.dirname(path.resolve(file));
  const guests = spec.guests.map((g, i): SystemGuest => {
    if (seen.has(g.name)) throw configError(file, `guests[${i}].name: '${g.name}' is used by another guest`);
    seen.add(g.name);
    const dirs = g.dirs.map((d): DirMount => ({ ...d, host: path.resolve(base, d.host) }));
    return { name: g.name, module: path.resolve(base, g.module), args: g.args, env: g.env, dirs, publish: g.publish, peers: g.peers };
  });
  for (const [i, g] of guests.entries()) {
    const unknown = g.peers?.find((p) => !seen.has(p));
    if (unknown) throw configError(file, `guests[${i}].peers: '${unknown}' is not a guest of this system`);
  }
  return { mode: spec.mode, network: spec.network, limits: spec.limits, onFailure: spec.onFailure, guests, base };
}

// A check of run()'s own options that needs no zod: the same parsers as
// every channel (policy/values.ts), so valid options never load the schema
// module. Only when this finds a problem does options.ts load, to name the
// option and say what was expected in the words every channel uses.

import { LIMITS, parseEnvName, parseEnvValue, parseGuestName, parseGuestPath, parseHostPath, parseTmpfsSize, type LimitKey } from '../policy/values.js';
import type { Limits } from '../policy/policy.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { LimitValues, RunOptions } from './run.js';

const DIR_KEYS = new Set(['host', 'guest', 'readOnly', 'quota']);
const QUOTA_KEYS = new Set(['bytes', 'entries']);
const count = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const limitOk = (k: string, v: unknown): boolean =>
  k in LIMITS && (v === undefined || ((typeof v === 'number' || typeof v === 'string') && LIMITS[k as LimitKey].parse(v).ok));

/** True when options.ts's schema accepts these options too (never the other way round). */
export function optionsAreValid(o: RunOptions): boolean {
  if (o.name !== undefined && !parseGuestName(o.name).ok) return false;
  if (o.dirs !== undefined) {
    if (!Array.isArray(o.dirs)) return false;
    for (const d of o.dirs as unknown[]) {
      if (!isRecord(d) || Object.keys(d).some((k) => !DIR_KEYS.has(k))) return false;
      if (!parseHostPath(d.host).ok || !parseGuestPath(d.guest).ok) return false;
      if (d.readOnly !== undefined && typeof d.readOnly !== 'boolean') return false;
      if (d.quota !== undefined && (!isRecord(d.quota) || Object.keys(d.quota).some((k) => !QUOTA_KEYS.has(k)) || !count(d.quota.bytes) || !count(d.quota.entries))) return false;
    }
  }
  if (o.tmpfs !== undefined) {
    if (!isRecord(o.tmpfs)) return false;
    if (Object.entries(o.tmpfs).some(([g, b]) => !parseGuestPath(g).ok || (typeof b !== 'number' && typeof b !== 'string') || !parseTmpfsSize(b).ok)) return false;
  }
  if (o.env !== undefined) {
    if (!isRecord(o.env)) return false;
    if (Object.entries(o.env).some(([k, v]) => !parseEnvName(k).ok || !parseEnvValue(v).ok)) return false;
  }
  if (o.limits !== undefined) {
    if (!isRecord(o.limits)) return false;
    if (Object.entries(o.limits).some(([k, v]) => !limitOk(k, v))) return false;
  }
  return limitOk('timeoutMs', o.timeoutMs);
}

/** Limits given as numbers or text (`"64MiB"`, `"10s"`) made into bytes and ms; a bad one is a CapsuleError (64) naming it. */
export function limitNumbers(given: LimitValues | undefined, where = 'limits'): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const [k, v] of Object.entries(given ?? {})) {
    if (v === undefined) continue;
    if (!(k in LIMITS)) throw new CapsuleError(ExitCode.USAGE, `${where}: unknown limit '${k}' (known: ${Object.keys(LIMITS).join(', ')})`);
    const r = LIMITS[k as LimitKey].parse(v);
    if (!r.ok) throw new CapsuleError(ExitCode.USAGE, `${where}.${k}: ${r.message}`);
    out[k as LimitKey] = r.value;
  }
  return out;
}

/** A tmpfs size given as a number or text, in bytes (checked before). */
export function tmpfsBytes(size: number | string): number {
  const r = parseTmpfsSize(size);
  if (!r.ok) throw new CapsuleError(ExitCode.USAGE, `tmpfs: ${r.message}`);
  return r.value;
}

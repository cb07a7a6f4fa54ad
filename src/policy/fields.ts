// The schema of every value a user can grant, in one place: CLI flags, the
// policy file, the system file and run()'s options all check their values
// with these, so one value gets one verdict and one message everywhere
// (each channel only says where the value was: a flag, a field).
// The checks themselves are values.ts's; these schemas carry them into zod for
// documents, where zod says which field. Loaded on first use: zod is large.

import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';
import type { DirMount } from './policy.js';
import { escapeText } from '../audit/escape.js';
import {
  LIMITS, parseDirSpec, parseEnvName, parseEnvValue, parseGuestName, parseGuestPath, parseHostPath, parseTmpfsSize,
  parseTmpfsSpec, type LimitKey, type Parsed,
} from './values.js';

export type { LimitKey };

type Ctx = z.core.$RefinementCtx;

/** The known key a typo'd one most likely meant: close in spelling (case aside), or none. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const lower = key.toLowerCase();
  const best = closest(lower, known.map((k) => k.toLowerCase()));
  const found = known.find((k) => k.toLowerCase() === best)!;
  return distance(lower, best) <= Math.max(2, Math.floor(key.length / 3)) ? found : undefined;
}

/**
 * An object of exactly these keys. An unknown key is refused naming it and,
 * if one is close, the key it most likely meant (`unknown field 'limts' (did
 * you mean 'limits'?)`); zod alone says only "Unrecognized key".
 */
export function strictObject<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      const key = issue.keys[0]!;
      const near = nearestKey(key, known);
      return `unknown field '${key}'${near ? ` (did you mean '${near}'?)` : ` (known: ${known.join(', ')})`}`;
    },
  });
}

/** A zod transform that runs one of values.ts's parsers: its message is the issue's. */
function by<I, T>(parse: (v: I) => Parsed<T>) {
  return (v: I, ctx: Ctx): T => {
    const r = parse(v);
    if (r.ok) return r.value;
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER as never;
  };
}

const limit = (parse: (v: unknown) => Parsed<number>) => z.union([z.number(), z.string()]).transform(by(parse));

/** Each limit: its field in a policy or system file, its flag, and its schema (the bounds are values.ts's). */
type LimitField = { field: string; flag: string; value: z.ZodType<number, number | string> };
export const LIMIT_FIELDS = Object.fromEntries((Object.keys(LIMITS) as LimitKey[])
  .map((k): [LimitKey, LimitField] => [k, { field: LIMITS[k].field, flag: LIMITS[k].flag, value: limit(LIMITS[k].parse) }])) as Record<LimitKey, LimitField>;

/** The size of an in-memory mount. */
export const tmpfsSize = limit(parseTmpfsSize);

/** A path the guest sees a mount under: absolute and normalised (`/data`), or `.`. */
export const guestPath = z.string().transform(by(parseGuestPath));

/** A guest's name: a host name label on the virtual network; case does not matter. */
export const guestName = z.string().transform(by(parseGuestName));

export const envName = z.string().transform(by(parseEnvName));
export const envValue = z.string().transform(by(parseEnvValue));

/** `HOST::GUEST[:OPTIONS]`, or `HOST[:OPTIONS]` (guest path = host path), as wasmtime spells it; options: ro, rw. */
export const dirSpec = z.string().transform(by<string, DirMount>(parseDirSpec));

/** `GUEST[:SIZE]`: an in-memory mount, 64 MiB unless SIZE is given. */
export const tmpfsSpec = z.string().transform(by(parseTmpfsSpec));

/** A host directory to mount (resolved later, against the file or the working directory). */
export const hostPath = z.string().transform(by(parseHostPath));

/** "a.b[2].c" for an issue's path. */
function fieldPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

type Checked<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

type Issue = z.core.$ZodIssue;

/** The issue to report: inside a union, the one of the alternative whose type matched (its message says what is wrong). */
function firstIssue(issue: Issue): Issue {
  // A record's bad key: what is wrong with the key, at the key.
  if (issue.code === 'invalid_key' && issue.issues.length > 0) return { ...firstIssue(issue.issues[0]!), path: issue.path };
  if (issue.code !== 'invalid_union') return issue;
  const branch = issue.errors.find((b) => b.length > 0 && b[0]!.code !== 'invalid_type' && b[0]!.code !== 'unrecognized_keys')
    ?? issue.errors.find((b) => b.length > 0);
  if (!branch) return issue;
  const inner = firstIssue(branch[0]!);
  return { ...inner, path: [...issue.path, ...inner.path] };
}

/** The value `schema` makes of `raw`, or its first problem: where (`field` then the issue's own path) and what was expected. */
export function check<T>(schema: z.ZodType<T, never> | z.ZodType<T>, raw: unknown, field = ''): Checked<T> {
  const r = (schema as z.ZodType<T>).safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const issue = firstIssue(r.error.issues[0]!);
  const sub = fieldPath(issue.path);
  const where = !field ? sub : !sub ? field : sub.startsWith('[') ? field + sub : `${field}.${sub}`;
  // Messages quote the values they refuse: escaped here, once for every channel.
  return { ok: false, field: escapeText(where) || '(top level)', message: escapeText(issue.message) };
}

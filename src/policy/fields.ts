// The schema of every value a user can grant, in one place: CLI flags, the
// policy file, the system file and run()'s options all check their values
// with these, so one value gets one verdict and one message everywhere
// (each channel only says where the value was: a flag, a field).
// Loaded on first use: zod is large, and a plain `capsule run` needs none of it.

import path from 'node:path';
import { z } from 'zod';
import type { DirMount } from '../api/run.js';
import { escapeText } from '../audit/escape.js';
import type { Limits } from './policy.js';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Whole hours below the largest delay Node's timers keep (2^31 - 1 ms); longer ones would fire at once. */
const MAX_TIMEOUT_MS = 596 * 3_600_000;

type Ctx = z.core.$RefinementCtx;

function refuse(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
}

/** A value parsed by `parse` (a number or a string), then held to [min, max]; `zero` also admits 0 (no limit). */
function bounded(parse: (v: number | string) => number | undefined, expected: string, min: number, max: number,
  show: (n: number) => string, zero = false) {
  const range = `${zero ? '0 (no limit) or ' : ''}between ${show(min)} and ${show(max)}`;
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parse(v);
    if (n === undefined) return refuse(ctx, `expected ${expected}`);
    if ((n === 0 && zero) || (n >= min && n <= max)) return n;
    return refuse(ctx, `must be ${range}`);
  });
}

const size = (min: number, max: number, zero = false) =>
  bounded(parseSize, 'a size such as 256MiB, 64k or a number of bytes', min, max, formatSize, zero);
const duration = (min: number, max: number, zero = false) =>
  bounded(parseDuration, 'a duration such as 10s, 500ms or 2m', min, max, formatDuration, zero);
const count = (min: number, max: number) =>
  bounded((v) => (typeof v === 'number' ? (Number.isSafeInteger(v) && v >= 0 ? v : undefined) : /^\d{1,15}$/.test(v) ? Number(v) : undefined),
    'a whole number', min, max, String);

/** Each limit: its field in a policy or system file, its flag, and its bounds (README, Limits). */
export const LIMIT_FIELDS = {
  // One 64 KiB page at least; wasm32 cannot address more than 4 GiB.
  memoryBytes: { field: 'memory', flag: '--memory', value: size(64 * KiB, 4 * GiB) },
  timeoutMs: { field: 'timeout', flag: '--timeout', value: duration(1, MAX_TIMEOUT_MS, true) },
  // stdin, stdout, stderr and one mount.
  maxFds: { field: 'maxFds', flag: '--max-fds', value: count(4, 65536) },
  maxSockets: { field: 'maxSockets', flag: '--max-sockets', value: count(0, 65536) },
  queueBytes: { field: 'queueBytes', flag: '--max-queue-bytes', value: size(4 * KiB, 1 * GiB) },
  // Enough for the arguments, environment and paths of an ordinary program.
  callBytes: { field: 'callBytes', flag: '--max-call-bytes', value: size(64 * KiB, 1 * GiB) },
  // The tail kept past the limit is held in memory: half the limit at most.
  outputBytes: { field: 'maxOutput', flag: '--max-output', value: size(4 * KiB, 4 * GiB, true) },
} as const satisfies Record<keyof Limits, { field: string; flag: string; value: z.ZodType<number, number | string> }>;

export type LimitKey = keyof typeof LIMIT_FIELDS;

/** The size of an in-memory mount. */
export const tmpfsSize = size(4 * KiB, 4 * GiB);
const DEFAULT_TMPFS_BYTES = 64 * MiB;

/** A path the guest sees a mount under: absolute and normalised (`/data`), or `.`. */
export const guestPath = z.string().superRefine((p, ctx) => {
  if (p === '') return refuse(ctx, 'the guest path is empty');
  if (p.includes('\0')) return refuse(ctx, 'the guest path contains a NUL byte');
  // ':' separates mount options and tmpfs sizes; allowing it in a path would turn a typo into a mount.
  if (p.includes(':')) return refuse(ctx, `guest path '${p}' contains ':' (it separates options: HOST::GUEST:ro)`);
  if (p === '.') return;
  if (!p.startsWith('/')) return refuse(ctx, `guest path '${p}' is not absolute (expected a path such as /data, or .)`);
  const normal = path.posix.normalize(p).replace(/(.)\/$/, '$1');
  if (normal !== p) refuse(ctx, `guest path '${p}' is not normalised (expected ${normal})`);
});

/** A guest's name: a host name label on the virtual network; case does not matter. */
export const guestName = z.string().transform((s) => s.toLowerCase()).pipe(z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  'expected a name of letters, digits and dashes, at most 63, not starting or ending with a dash (like a host name)'));

export const envName = z.string().min(1, 'the variable name is empty')
  .refine((s) => !s.includes('='), 'the variable name contains "="')
  .refine((s) => !s.includes('\0'), 'the variable name contains a NUL byte');
export const envValue = z.string().refine((s) => !s.includes('\0'), 'the value contains a NUL byte');

const MOUNT_OPTIONS = ['ro', 'rw'] as const;

/** `HOST::GUEST[:OPTIONS]`, or `HOST[:OPTIONS]` (guest path = host path), as wasmtime spells it; options: ro, rw. */
export const dirSpec = z.string().transform((spec, ctx): DirMount => {
  const sep = spec.indexOf('::');
  const head = sep === -1 ? spec : spec.slice(sep + 2);
  if (head.includes('::')) return refuse(ctx, "more than one '::' (expected HOST::GUEST[:ro])");
  const colon = head.lastIndexOf(':');
  const options = colon === -1 ? [] : head.slice(colon + 1).split(',');
  const rest = colon === -1 ? head : head.slice(0, colon);
  const host = sep === -1 ? rest : spec.slice(0, sep);
  const guest = rest;
  if (host === '') return refuse(ctx, 'the host directory is empty (expected HOST::GUEST[:ro])');
  if (guest === '') return refuse(ctx, 'the guest path is empty (expected HOST::GUEST[:ro])');
  const unknown = options.find((o) => !(MOUNT_OPTIONS as readonly string[]).includes(o));
  if (unknown !== undefined) return refuse(ctx, `unknown mount option '${unknown}' (accepted: ${MOUNT_OPTIONS.join(', ')})`);
  if (options.includes('ro') && options.includes('rw')) return refuse(ctx, "mount options 'ro' and 'rw' conflict");
  const checked = guestPath.safeParse(guest);
  if (!checked.success) return refuse(ctx, checked.error.issues[0]!.message);
  return { host, guest, readOnly: options.includes('ro') };
});

/** `GUEST[:SIZE]`: an in-memory mount, 64 MiB unless SIZE is given. */
export const tmpfsSpec = z.string().transform((spec, ctx): { guest: string; bytes: number } => {
  const colon = spec.lastIndexOf(':');
  const guest = colon === -1 ? spec : spec.slice(0, colon);
  const checked = guestPath.safeParse(guest);
  if (!checked.success) return refuse(ctx, checked.error.issues[0]!.message);
  if (colon === -1) return { guest, bytes: DEFAULT_TMPFS_BYTES };
  const bytes = tmpfsSize.safeParse(spec.slice(colon + 1));
  return bytes.success ? { guest, bytes: bytes.data } : refuse(ctx, bytes.error.issues[0]!.message);
});

/** A host directory to mount (resolved later, against the file or the working directory). */
export const hostPath = z.string().min(1, 'the host directory is empty').refine((s) => !s.includes('\0'), 'the host directory contains a NUL byte');

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

// How each value a user can grant is read and checked, in plain functions:
// the one parser behind every channel. The zod schemas of fields.ts wrap
// these for policy and system files (where zod reports the field); CLI flags
// and run()'s options call them directly, so a run with `--dir` or a limit
// never pays for loading zod (about 40 ms).

import path from 'node:path';
import type { DirMount } from './policy.js';
import type { Limits } from './policy.js';
import { formatDuration, formatSize, parseDuration, parseSize } from '../core/units.js';

/** A value, or the message that refuses it. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const no = (message: string): Parsed<never> => ({ ok: false, message });

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Whole hours below the largest delay Node's timers keep (2^31 - 1 ms); longer ones would fire at once. */
const MAX_TIMEOUT_MS = 596 * 3_600_000;

/** A value parsed by `parse` (a number or a string), then held to [min, max]; `zero` also admits 0 (no limit). */
function bounded(parse: (v: number | string) => number | undefined, expected: string, min: number, max: number,
  show: (n: number) => string, zero = false): (v: unknown) => Parsed<number> {
  const range = `${zero ? '0 (no limit) or ' : ''}between ${show(min)} and ${show(max)}`;
  return (v) => {
    if (typeof v !== 'number' && typeof v !== 'string') return no(`expected ${expected}`);
    const n = parse(v);
    if (n === undefined) return no(`expected ${expected}`);
    return (n === 0 && zero) || (n >= min && n <= max) ? ok(n) : no(`must be ${range}`);
  };
}

const size = (min: number, max: number, zero = false) =>
  bounded(parseSize, 'a size such as 256MiB, 64k or a number of bytes', min, max, formatSize, zero);
const duration = (min: number, max: number, zero = false) =>
  bounded(parseDuration, 'a duration such as 10s, 500ms or 2m', min, max, formatDuration, zero);
const count = (min: number, max: number) =>
  bounded((v) => (typeof v === 'number' ? (Number.isSafeInteger(v) && v >= 0 ? v : undefined) : /^\d{1,15}$/.test(v) ? Number(v) : undefined),
    'a whole number', min, max, String);

/** Each limit: its field in a policy or system file, its flag, and its bounds (README, Limits). */
export const LIMITS = {
  // One 64 KiB page at least; wasm32 cannot address more than 4 GiB.
  memoryBytes: { field: 'memory', flag: '--memory', parse: size(64 * KiB, 4 * GiB) },
  timeoutMs: { field: 'timeout', flag: '--timeout', parse: duration(1, MAX_TIMEOUT_MS, true) },
  // stdin, stdout, stderr and one mount.
  maxFds: { field: 'maxFds', flag: '--max-fds', parse: count(4, 65536) },
  maxSockets: { field: 'maxSockets', flag: '--max-sockets', parse: count(0, 65536) },
  // 1: the main thread only (no thread may be spawned); each thread is a host thread.
  maxThreads: { field: 'maxThreads', flag: '--max-threads', parse: count(1, 1024) },
  queueBytes: { field: 'queueBytes', flag: '--max-queue-bytes', parse: size(4 * KiB, 1 * GiB) },
  // Enough for the arguments, environment and paths of an ordinary program.
  callBytes: { field: 'callBytes', flag: '--max-call-bytes', parse: size(64 * KiB, 1 * GiB) },
  outputBytes: { field: 'maxOutput', flag: '--max-output', parse: size(4 * KiB, 4 * GiB, true) },
} as const satisfies Record<keyof Limits, { field: string; flag: string; parse: (v: unknown) => Parsed<number> }>;

export type LimitKey = keyof typeof LIMITS;

/** The size of an in-memory mount. */
export const parseTmpfsSize = size(4 * KiB, 4 * GiB);
const DEFAULT_TMPFS_BYTES = 64 * MiB;

/** A path the guest sees a mount under: absolute and normalised (`/data`), or `.`. */
export function parseGuestPath(p: unknown): Parsed<string> {
  if (typeof p !== 'string') return no('expected a guest path');
  if (p === '') return no('the guest path is empty');
  if (p.includes('\0')) return no('the guest path contains a NUL byte');
  // ':' separates mount options and tmpfs sizes; allowing it in a path would turn a typo into a mount.
  if (p.includes(':')) return no(`guest path '${p}' contains ':' (it separates options: HOST::GUEST:ro)`);
  if (p === '.') return ok(p);
  if (!p.startsWith('/')) return no(`guest path '${p}' is not absolute (expected a path such as /data, or .)`);
  const normal = path.posix.normalize(p).replace(/(.)\/$/, '$1');
  return normal === p ? ok(p) : no(`guest path '${p}' is not normalised (expected ${normal})`);
}

/** A guest's name: a host name label on the virtual network; case does not matter (kept lower-case). */
export function parseGuestName(s: unknown): Parsed<string> {
  if (typeof s !== 'string') return no('expected a name');
  const name = s.toLowerCase();
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name) ? ok(name)
    : no('expected a name of letters, digits and dashes, at most 63, not starting or ending with a dash (like a host name)');
}

export function parseEnvName(s: unknown): Parsed<string> {
  if (typeof s !== 'string') return no('expected a variable name');
  if (s === '') return no('the variable name is empty');
  if (s.includes('=')) return no('the variable name contains "="');
  if (s.includes('\0')) return no('the variable name contains a NUL byte');
  return ok(s);
}

export function parseEnvValue(s: unknown): Parsed<string> {
  if (typeof s !== 'string') return no('expected a string');
  return s.includes('\0') ? no('the value contains a NUL byte') : ok(s);
}

/** A host directory to mount (resolved later, against the file or the working directory). */
export function parseHostPath(s: unknown): Parsed<string> {
  if (typeof s !== 'string') return no('expected a host directory');
  if (s === '') return no('the host directory is empty');
  return s.includes('\0') ? no('the host directory contains a NUL byte') : ok(s);
}

const MOUNT_OPTIONS = ['ro', 'rw'] as const;

/** `HOST::GUEST[:OPTIONS]`, or `HOST[:OPTIONS]` (guest path = host path), as wasmtime spells it; options: ro, rw. */
export function parseDirSpec(spec: unknown): Parsed<DirMount> {
  if (typeof spec !== 'string') return no('expected HOST::GUEST[:ro]');
  const sep = spec.indexOf('::');
  const head = sep === -1 ? spec : spec.slice(sep + 2);
  if (head.includes('::')) return no("more than one '::' (expected HOST::GUEST[:ro])");
  const colon = head.lastIndexOf(':');
  const options = colon === -1 ? [] : head.slice(colon + 1).split(',');
  const rest = colon === -1 ? head : head.slice(0, colon);
  const host = sep === -1 ? rest : spec.slice(0, sep);
  const guest = rest;
  if (host === '') return no('the host directory is empty (expected HOST::GUEST[:ro])');
  if (guest === '') return no('the guest path is empty (expected HOST::GUEST[:ro])');
  const unknown = options.find((o) => !(MOUNT_OPTIONS as readonly string[]).includes(o));
  // `data:/data` (or `data:/data:ro`): a guest path after one ':' means '::' was meant (a single ':' starts the options).
  const single = sep === -1 ? /^([^:]+):(\/[^:]*)$/.exec(unknown !== undefined && options.length === 1 ? `${rest}:${unknown}` : rest) : null;
  if (single) {
    const [, h, g] = single;
    return no(`to mount ${h} at ${g}, separate them with '::' (${h}::${g}${options.length > 0 && unknown === undefined ? `:${options.join(',')}` : ''}); one ':' starts the mount options`);
  }
  if (unknown !== undefined) return no(`unknown mount option '${unknown}' (accepted: ${MOUNT_OPTIONS.join(', ')})`);
  if (options.includes('ro') && options.includes('rw')) return no("mount options 'ro' and 'rw' conflict");
  const checked = parseGuestPath(guest);
  return checked.ok ? ok({ host, guest, readOnly: options.includes('ro') }) : checked;
}

/** `GUEST[:SIZE]`: an in-memory mount, 64 MiB unless SIZE is given. */
export function parseTmpfsSpec(spec: unknown): Parsed<{ guest: string; bytes: number }> {
  if (typeof spec !== 'string') return no('expected GUEST[:SIZE]');
  const colon = spec.lastIndexOf(':');
  const guest = colon === -1 ? spec : spec.slice(0, colon);
  const checked = parseGuestPath(guest);
  if (!checked.ok) return checked;
  if (colon === -1) return ok({ guest, bytes: DEFAULT_TMPFS_BYTES });
  const bytes = parseTmpfsSize(spec.slice(colon + 1));
  return bytes.ok ? ok({ guest, bytes: bytes.value }) : bytes;
}

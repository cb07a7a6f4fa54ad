// The server's (and a worker's) ceiling policy, `--max-policy FILE`: a job
// may ask for less than the ceiling, never more. The first field asking for
// more is named. Without a file the ceiling is the fleet default: no host
// mounts, no network, the default limits with a job's default timeout.

import path from 'node:path';
import type { ParsedPolicy } from '../policy/document.js';
import { LIMITS, type LimitKey } from '../policy/values.js';
import { DEFAULT_LIMITS, type Limits } from '../policy/policy.js';
import { formatDuration, formatSize } from '../core/units.js';
import { DEFAULT_JOB_OUTPUT_BYTES, DEFAULT_JOB_TIMEOUT_MS } from './job.js';

/** The limits a job runs under when its policy does not name them. */
export function jobLimits(asked: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, timeoutMs: DEFAULT_JOB_TIMEOUT_MS, outputBytes: DEFAULT_JOB_OUTPUT_BYTES, ...asked };
}

/** The fleet default ceiling: nothing granted beyond the job defaults, a timeout of at most 10 minutes. */
export const DEFAULT_CEILING: ParsedPolicy = {
  mounts: [],
  env: {},
  network: { allowConnect: [], denyConnect: [], allowDns: false, publish: [] },
  limits: { timeoutMs: 10 * 60_000 },
  writeCache: true,
};

/** A limit's value as the ceiling compares it: 0 ("none") is unbounded. */
const unbounded = (k: LimitKey, v: number): number => ((k === 'timeoutMs' || k === 'outputBytes') && v === 0 ? Infinity : v);
const show = (k: LimitKey, v: number): string => (v === Infinity || v === 0 ? 'none' : k === 'timeoutMs' ? formatDuration(v) : k.endsWith('Bytes') ? formatSize(v) : String(v));

/**
 * Undefined if `job` asks for no more than `ceiling`, else "policy.FIELD: why".
 * Host paths of `ceiling` are absolute (resolved against its file); a job's must be too.
 */
export function exceedsCeiling(job: ParsedPolicy, ceiling: ParsedPolicy): string | undefined {
  const asked = jobLimits(job.limits);
  const allowed = jobLimits(ceiling.limits);
  for (const k of Object.keys(LIMITS) as LimitKey[]) {
    const a = unbounded(k, asked[k]);
    const c = unbounded(k, allowed[k]);
    if (a > c) return `policy.limits.${LIMITS[k].field}: ${show(k, a)} is above the ceiling of ${show(k, c)}`;
  }
  const ceilingTmpfs = ceiling.mounts.reduce((n, m) => n + (m.tmpfsBytes ?? 0), 0);
  let tmpfs = 0;
  for (const [i, m] of job.mounts.entries()) {
    if (m.host === undefined) {
      tmpfs += m.tmpfsBytes ?? 0;
      if (tmpfs > ceilingTmpfs) return `policy.mounts[${i}].tmpfs: in-memory mounts of ${formatSize(tmpfs)} in all are above the ceiling of ${formatSize(ceilingTmpfs)}`;
      continue;
    }
    if (!path.isAbsolute(m.host)) return `policy.mounts[${i}].host: a fleet job names host directories by absolute path`;
    const grant = ceiling.mounts.find((c) => c.host !== undefined && path.resolve(c.host) === path.resolve(m.host!) && c.guest === m.guest);
    if (!grant) return `policy.mounts[${i}]: the ceiling does not grant this host directory at ${m.guest}`;
    if (grant.readOnly && !m.readOnly) return `policy.mounts[${i}].readOnly: the ceiling grants this directory read-only`;
  }
  const net = job.network;
  const i = net.allowConnect.findIndex((g) => !ceiling.network.allowConnect.includes(g));
  if (i !== -1) return `policy.network.allowConnect[${i}]: the ceiling does not grant this destination`;
  if (net.allowDns && !ceiling.network.allowDns) return 'policy.network.allowDns: the ceiling does not grant name resolution';
  const p = net.publish.findIndex((g) => !ceiling.network.publish.includes(g));
  if (p !== -1) return `policy.network.publish[${p}]: the ceiling does not grant this port`;
  return undefined;
}

/** A --max-policy file, checked, its relative host paths resolved against the file's directory. */
export async function readCeiling(file: string): Promise<ParsedPolicy> {
  const { readPolicyFile, parsePolicyDocument } = await import('../policy/document.js');
  const { doc, base } = await readPolicyFile(file);
  const parsed = await parsePolicyDocument(doc, file);
  return { ...parsed, mounts: parsed.mounts.map((m) => (m.host === undefined ? m : { ...m, host: path.resolve(base, m.host) })) };
}

/**
 * `doc` with each limit it leaves to the default set to the ceiling's where
 * the default is above it: a job that names no memory limit runs under the
 * ceiling's rather than being refused for the default.
 */
export async function clampToCeiling(doc: unknown, ceiling: ParsedPolicy): Promise<unknown> {
  const { parsePolicyDocument } = await import('../policy/document.js');
  const asked = await parsePolicyDocument(doc ?? {}, 'policy');
  const defaults = jobLimits({});
  const allowed = jobLimits(ceiling.limits);
  const added: Record<string, number> = {};
  for (const k of Object.keys(LIMITS) as LimitKey[]) {
    if (asked.limits[k] === undefined && unbounded(k, defaults[k]) > unbounded(k, allowed[k])) added[LIMITS[k].field] = allowed[k];
  }
  if (Object.keys(added).length === 0) return doc;
  const d = (doc ?? {}) as { limits?: Record<string, unknown> };
  return { ...d, limits: { ...d.limits, ...added } };
}

// The policy a snapshot is sealed with, and whether a resume's policy is
// wider. A resumed guest is the same program in the same state: a policy
// that grants it more than it was sealed with is refused, unless the user
// says so (--allow-policy-change, audited).

import type { Limits, Policy, QuotaLimits } from '../policy/policy.js';

export interface SealedPolicy {
  mounts: { guest: string; readOnly: boolean; host?: string; tmpfsBytes?: number; quota?: QuotaLimits }[];
  allowConnect: string[];
  denyConnect: string[];
  allowDns: boolean;
  publish: string[];
  /** null: no limit. */
  limits: Record<keyof Limits, number | null>;
}

/** A limit's value, with "none" (0 for the timeout, Infinity in normal mode) as null. */
function limitValue(key: keyof Limits, v: number): number | null {
  return !Number.isFinite(v) || (key === 'timeoutMs' && v === 0) ? null : v;
}

export function sealedPolicy(p: Policy): SealedPolicy {
  const limits = Object.fromEntries(Object.entries(p.limits).map(([k, v]) => [k, limitValue(k as keyof Limits, v)])) as SealedPolicy['limits'];
  return {
    mounts: p.mounts.map((m) => ({
      guest: m.guest, readOnly: m.readOnly, ...(m.host !== undefined ? { host: m.host } : {}), ...(m.tmpfsBytes !== undefined ? { tmpfsBytes: m.tmpfsBytes } : {}),
      ...(m.quota !== undefined ? { quota: { ...m.quota } } : {}),
    })),
    allowConnect: p.network.allowConnect.map((g) => g.text),
    denyConnect: p.network.denyConnect.map((g) => g.text),
    allowDns: p.network.allowDns,
    publish: p.network.publish.map((r) => r.text),
    limits,
  };
}

/** The first way `now` grants more than `sealed`, in words; undefined if it grants nothing more. */
export function widening(sealed: SealedPolicy, now: SealedPolicy): string | undefined {
  for (const m of now.mounts) {
    const was = sealed.mounts.find((s) => s.guest === m.guest);
    if (was === undefined) return `it mounts ${m.guest}, which the sealed policy does not`;
    if (was.readOnly && !m.readOnly) return `it makes ${m.guest} writable; the sealed policy mounts it read-only`;
    if ((m.tmpfsBytes ?? 0) > (was.tmpfsBytes ?? 0)) return `its in-memory ${m.guest} is larger than the sealed policy's`;
    const quota = quotaWidening(was.quota, m.quota);
    if (quota !== undefined) return `it ${quota} of ${m.guest}`;
  }
  for (const g of now.allowConnect) if (!sealed.allowConnect.includes(g)) return `it allows connecting to ${g}`;
  for (const g of sealed.denyConnect) if (!now.denyConnect.includes(g)) return `it no longer denies ${g}`;
  if (now.allowDns && !sealed.allowDns) return 'it allows DNS';
  for (const r of now.publish) if (!sealed.publish.includes(r)) return `it publishes ${r}`;
  for (const [key, v] of Object.entries(now.limits) as [keyof Limits, number | null][]) {
    const was = sealed.limits[key];
    if (was !== null && (v === null || v > was)) return `it raises the ${key} limit from ${was} to ${v ?? 'none'}`;
  }
  return undefined;
}

/** How a mount's quota `now` allows more than `was` ("raises the byte quota"), or undefined. */
function quotaWidening(was: QuotaLimits | undefined, now: QuotaLimits | undefined): string | undefined {
  for (const [key, name] of [['bytes', 'byte'], ['entries', 'entry']] as const) {
    const w = was?.[key];
    if (w === undefined) continue;
    const n = now?.[key];
    if (n === undefined) return `lifts the ${name} quota`;
    if (n > w) return `raises the ${name} quota from ${w} to ${n}`;
  }
  return undefined;
}

// The policy as a document: the JSON of `--policy FILE`, and the object the
// API takes. Validated with a schema; an error names the exact field and
// what was expected. Turned into a Policy by buildPolicy().

import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../api/errors.js';
import { ExitCode } from '../api/exit-codes.js';
import { emptyNetworkPolicy, parseConnectGrant, parsePublish, PolicyError } from './network.js';
import { DEFAULT_LIMITS, type Limits, type MountGrant, type Policy } from './policy.js';
import { parseDuration, parseSize } from './units.js';

/** A policy document: every field optional, every default denies (see README). */
export interface PolicyDocument {
  version?: 1;
  mounts?: ({ host: string; guest: string; readOnly?: boolean } | { tmpfs: number | string; guest: string })[];
  env?: Record<string, string>;
  network?: { allowConnect?: string[]; denyConnect?: string[]; allowDns?: boolean; publish?: string[] };
  limits?: {
    memory?: number | string; timeout?: number | string; maxFds?: number; maxSockets?: number;
    queueBytes?: number | string; callBytes?: number | string; maxOutput?: number | string;
  };
}

/** Validates a document; throws CapsuleError(CONFIG) naming the field. `where` prefixes the message. */
export async function parsePolicyDocument(raw: unknown, where: string): Promise<PolicyDocument> {
  const { policyProblem } = await import('./schema.js');
  const problem = policyProblem(raw);
  if (problem !== undefined) throw new CapsuleError(ExitCode.CONFIG, `${where}: ${problem}`);
  return raw as PolicyDocument;
}

export async function readPolicyFile(file: string): Promise<{ doc: PolicyDocument; base: string }> {
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
  return { doc: await parsePolicyDocument(raw, file), base: path.dirname(path.resolve(file)) };
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
export function buildPolicy(doc: PolicyDocument | undefined, base: string, add: PolicyAdditions = {}, guest?: string): Policy {
  const d = doc ?? {};
  const dn = d.network ?? {};
  const mounts: MountGrant[] = (d.mounts ?? []).map((m) => 'tmpfs' in m
    ? { guest: m.guest, readOnly: false, tmpfsBytes: parseSize(m.tmpfs)! }
    : { host: path.resolve(base, m.host), guest: m.guest, readOnly: m.readOnly ?? false });
  const network = emptyNetworkPolicy();
  const where = doc ? 'policy' : 'flags';
  try {
    network.allowConnect = [...(dn.allowConnect ?? []), ...(add.allowConnect ?? [])].map(parseConnectGrant);
    network.denyConnect = [...(dn.denyConnect ?? []), ...(add.denyConnect ?? [])].map(parseConnectGrant);
    network.publish = [...(dn.publish ?? []), ...(add.publish ?? [])].map((p) => parsePublish(p, guest));
  } catch (err) {
    if (err instanceof PolicyError) throw new CapsuleError(doc ? ExitCode.CONFIG : ExitCode.USAGE, `${where}: ${err.message}`);
    throw err;
  }
  network.allowDns = (add.allowDns || dn.allowDns) ?? false;
  const l = d.limits ?? {};
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


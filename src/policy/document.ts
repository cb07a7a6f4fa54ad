// The policy as a document: the JSON of `--policy FILE`, and the object the
// API takes. Checked with the schema every channel shares (schema.ts,
// fields.ts); an error names the exact field and what was expected. Turned
// into a Policy by buildPolicy().

import path from 'node:path';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { MAX_DOCUMENT_BYTES, readRegularFile, UnreadableFile } from '../core/read-file.js';
import { parseJsonDocument } from './json.js';
import { emptyNetworkPolicy, parseConnectGrant, parsePublish, PolicyError } from './network.js';
import { DEFAULT_LIMITS, type Limits, type MountGrant, type Policy } from './policy.js';

/** A policy document: every field optional, every default denies (see README). */
export interface PolicyDocument {
  version?: 1;
  mounts?: ({ host: string; guest: string; readOnly?: boolean } | { tmpfs: number | string; guest: string })[];
  env?: Record<string, string>;
  network?: { allowConnect?: string[]; denyConnect?: string[]; allowDns?: boolean; publish?: string[] };
  limits?: {
    memory?: number | string; timeout?: number | string; maxFds?: number | string; maxSockets?: number | string;
    maxThreads?: number | string;
    queueBytes?: number | string; callBytes?: number | string; maxOutput?: number | string;
  };
  writeCache?: boolean;
}

/** A document once checked: limits in bytes and ms, mounts as grants (host paths still relative), every default filled in. */
export interface ParsedPolicy {
  mounts: MountGrant[];
  env: Record<string, string>;
  network: { allowConnect: string[]; denyConnect: string[]; allowDns: boolean; publish: string[] };
  limits: Partial<Limits>;
  writeCache: boolean;
}

/** Checks a document; throws CapsuleError(CONFIG) naming the field. `where` prefixes the message. */
export async function parsePolicyDocument(raw: unknown, where: string): Promise<ParsedPolicy> {
  const { parsePolicy } = await import('./schema.js');
  const r = parsePolicy(raw);
  if (!r.ok) throw new CapsuleError(ExitCode.CONFIG, `${where}: ${r.problem}`);
  return r.value;
}

export async function readPolicyFile(file: string): Promise<{ doc: PolicyDocument; base: string }> {
  let text: string;
  try {
    text = (await readRegularFile(file, MAX_DOCUMENT_BYTES)).toString('utf8');
  } catch (err) {
    if (!(err instanceof UnreadableFile)) throw err;
    throw new CapsuleError(ExitCode.NO_INPUT, `cannot read policy file '${file}': ${err.message}`);
  }
  const parsed = await parseJsonDocument(text);
  if (!parsed.ok) throw new CapsuleError(ExitCode.CONFIG, `${file}: ${parsed.message}`);
  const raw = parsed.value;
  // Checked here so that an error names the file; run() takes the document as written.
  await parsePolicyDocument(raw, file);
  return { doc: raw as PolicyDocument, base: path.dirname(path.resolve(file)) };
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
  /** false turns coalescing of small writes off (a flag can only turn it off, never on against the document). */
  writeCache?: boolean;
}

/**
 * The Policy from a checked document (host paths relative to `base`) plus
 * additions: lists are appended, limits from the additions win.
 */
export function buildPolicy(doc: ParsedPolicy | undefined, base: string, add: PolicyAdditions = {}, guest?: string): Policy {
  const mounts = (doc?.mounts ?? []).map((m) => (m.host === undefined ? m : { ...m, host: path.resolve(base, m.host) }));
  const dn = doc?.network;
  const network = emptyNetworkPolicy();
  const where = doc ? 'policy' : 'flags';
  try {
    network.allowConnect = [...(dn?.allowConnect ?? []), ...(add.allowConnect ?? [])].map(parseConnectGrant);
    network.denyConnect = [...(dn?.denyConnect ?? []), ...(add.denyConnect ?? [])].map(parseConnectGrant);
    network.publish = [...(dn?.publish ?? []), ...(add.publish ?? [])].map((p) => parsePublish(p, guest));
  } catch (err) {
    if (err instanceof PolicyError) throw new CapsuleError(doc ? ExitCode.CONFIG : ExitCode.USAGE, `${where}: ${err.message}`);
    throw err;
  }
  network.allowDns = (add.allowDns || dn?.allowDns) ?? false;
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    ...doc?.limits,
    ...Object.fromEntries(Object.entries(add.limits ?? {}).filter(([, v]) => v !== undefined)),
  };
  const writeCache = (doc?.writeCache ?? true) && add.writeCache !== false;
  return { mounts: [...mounts, ...(add.mounts ?? [])], env: { ...doc?.env, ...add.env }, network, limits, writeCache };
}

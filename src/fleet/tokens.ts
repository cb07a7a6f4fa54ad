// Bearer tokens of `capsule serve`: a JSON file naming each token's tenant,
// and whether it may see every tenant (the dashboard). Tokens are kept only
// as their SHA-256, so a lookup compares hashes, never the secret itself.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { MAX_DOCUMENT_BYTES, readRegularFile, UnreadableFile } from '../core/read-file.js';
import { check } from '../policy/fields.js';

export interface TokenGrant {
  tenant: string;
  admin: boolean;
}

const tokensSchema = z.object({
  tokens: z.array(z.object({
    token: z.string().regex(/^[\x21-\x7e]{16,512}$/, 'expected 16-512 printable ASCII characters'),
    tenant: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -'),
    admin: z.boolean().default(false),
  }).strict()).min(1),
}).strict();

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

export class Tokens {
  private readonly byHash = new Map<string, TokenGrant>();
  constructor(entries: { token: string; tenant: string; admin: boolean }[]) {
    for (const e of entries) this.byHash.set(hash(e.token), { tenant: e.tenant, admin: e.admin });
  }

  /** The grant of an `Authorization: Bearer TOKEN` header, or undefined. */
  grantOf(header: string | undefined): TokenGrant | undefined {
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
    return m ? this.byHash.get(hash(m[1]!)) : undefined;
  }
}

export async function readTokens(file: string): Promise<Tokens> {
  let raw: unknown;
  try {
    raw = JSON.parse((await readRegularFile(file, MAX_DOCUMENT_BYTES)).toString('utf8'));
  } catch (err) {
    if (err instanceof UnreadableFile) throw new CapsuleError(ExitCode.NO_INPUT, `cannot read tokens file '${file}': ${err.message}`);
    throw new CapsuleError(ExitCode.CONFIG, `${file}: not valid JSON: ${(err as Error).message}`);
  }
  const r = check(tokensSchema, raw);
  if (!r.ok) throw new CapsuleError(ExitCode.CONFIG, `${file}: ${r.field}: ${r.message}`);
  return new Tokens(r.value.tokens);
}

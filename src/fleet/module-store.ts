// Modules stored once in Redis, addressed by their SHA-256. A job names its
// module by hash; the worker checks the bytes it reads back against that hash
// (Redis is not trusted to hand back what was stored) and keeps the recent
// ones in memory.

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { JOB_LIMITS } from './job.js';
import type { FleetKeys } from './keys.js';

/** How long a module stays stored after it was last submitted. */
const MODULE_TTL_S = 7 * 24 * 3600;
/** Bytes of verified modules a worker keeps in memory. */
const CACHE_BYTES = 256 * 1024 * 1024;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Stores `bytes` (once) and returns its hash. */
export async function putModule(redis: Redis, keys: FleetKeys, given: Uint8Array): Promise<string> {
  // A copy: bytes handed over cannot change between the check, the hash and the store.
  const bytes = Buffer.from(given);
  if (bytes.byteLength === 0) throw new CapsuleError(ExitCode.BAD_MODULE, 'module: empty');
  if (bytes.byteLength > JOB_LIMITS.moduleBytes) {
    throw new CapsuleError(ExitCode.BAD_MODULE, `module: ${bytes.byteLength} bytes is more than the limit of ${JOB_LIMITS.moduleBytes}`);
  }
  if (!WebAssembly.validate(bytes)) throw new CapsuleError(ExitCode.BAD_MODULE, 'module: not a valid WebAssembly module');
  const sha = sha256Hex(bytes);
  const key = keys.module(sha);
  // SET NX keeps the first copy; EXPIRE refreshes the stay of one submitted again.
  await redis.multi().set(key, bytes, 'EX', MODULE_TTL_S, 'NX').expire(key, MODULE_TTL_S).exec();
  return sha;
}

export async function hasModule(redis: Redis, keys: FleetKeys, sha: string): Promise<boolean> {
  return (await redis.exists(keys.module(sha))) === 1;
}

/** A worker's view of the store: verified module bytes by hash, least recently used dropped first. */
export class ModuleCache {
  private readonly kept = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly redis: Redis, private readonly keys: FleetKeys) {}

  async get(sha: string): Promise<Buffer> {
    const hit = this.kept.get(sha);
    if (hit) {
      this.kept.delete(sha);
      this.kept.set(sha, hit);
      return hit;
    }
    const bytes = await this.redis.getBuffer(this.keys.module(sha));
    if (bytes === null) throw new CapsuleError(ExitCode.NO_INPUT, `module ${sha} is not stored (expired, or never submitted)`);
    if (bytes.byteLength > JOB_LIMITS.moduleBytes || sha256Hex(bytes) !== sha) {
      throw new CapsuleError(ExitCode.BAD_MODULE, `module ${sha}: the stored bytes do not have this hash (tampered with)`);
    }
    this.kept.set(sha, bytes);
    this.bytes += bytes.byteLength;
    for (const [k, v] of this.kept) {
      if (this.bytes <= CACHE_BYTES) break;
      this.kept.delete(k);
      this.bytes -= v.byteLength;
    }
    return bytes;
  }
}

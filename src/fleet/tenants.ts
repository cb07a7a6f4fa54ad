// A cap on each tenant's running jobs, across every worker: a sorted set per
// tenant of the jobs it runs, scored by when their lease ends. A worker that
// dies leaves a lease that runs out, so a crash never eats a tenant's slot;
// a live worker renews its leases while its jobs run.

import type { Redis } from 'ioredis';
import type { FleetKeys } from './keys.js';

// KEYS[1] the tenant's set; ARGV: now, lease end, cap, job id. 1 if the job holds a slot.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[2]) - tonumber(ARGV[1])))
  return 1
end
return 0`;

export class TenantSlots {
  constructor(private readonly redis: Redis, private readonly keys: FleetKeys, readonly cap: number, private readonly leaseMs: number) {}

  /** Whether tenants are capped at all (0: every call here does nothing). */
  get capped(): boolean {
    return this.cap > 0;
  }

  /** Takes a slot for `jobId` (or keeps the one it has); false when the tenant is at its cap. */
  async acquire(tenant: string, jobId: string): Promise<boolean> {
    if (this.cap <= 0) return true;
    const now = Date.now();
    return (await this.redis.eval(ACQUIRE, 1, this.keys.tenantRunning(tenant), now, now + this.leaseMs, this.cap, jobId)) === 1;
  }

  async renew(tenant: string, jobId: string): Promise<void> {
    if (this.cap <= 0) return;
    await this.redis.zadd(this.keys.tenantRunning(tenant), 'XX', Date.now() + this.leaseMs, jobId);
  }

  async release(tenant: string, jobId: string): Promise<void> {
    if (this.cap <= 0) return;
    await this.redis.zrem(this.keys.tenantRunning(tenant), jobId);
  }

  /** Jobs the tenant runs now (leases not run out). */
  async running(tenant: string): Promise<number> {
    return this.redis.zcount(this.keys.tenantRunning(tenant), Date.now(), '+inf');
  }
}

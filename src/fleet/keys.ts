// Names in Redis. Every key of one fleet shares the prefix `capsule:{QUEUE}`:
// the braces are a Redis Cluster hash tag, so one queue's keys (BullMQ's and
// Capsule's own) live in one slot and a cluster shards by queue.

export const DEFAULT_QUEUE = 'jobs';

export function fleetKeys(queue: string) {
  const base = `capsule:{${queue}}`;
  return {
    /** BullMQ's prefix: its keys are `<prefix>:<queue>:...`. */
    bullPrefix: 'capsule',
    bullQueue: `{${queue}}`,
    module: (sha: string) => `${base}:module:${sha}`,
    tenantRunning: (tenant: string) => `${base}:tenant:${tenant}:running`,
    /**
     * Times a job was taken by a worker without that counting as a run (a
     * wait for its tenant's slot, a suspension): BullMQ counts every take.
     */
    freeTakes: (jobId: string) => `${base}:free-takes:${jobId}`,
    cancelChannel: `${base}:cancel`,
    /** A suspended job's sealed snapshot, by its SHA-256. */
    snapshot: (sha: string) => `${base}:snapshot:${sha}`,
    /** Where a suspended job goes on: its snapshot's hash and the output of the parts run so far. */
    continuation: (jobId: string) => `${base}:continuation:${jobId}`,
  };
}

export type FleetKeys = ReturnType<typeof fleetKeys>;

/** A queue name: what goes between the braces. */
export function checkQueueName(name: string): string | undefined {
  return /^[A-Za-z0-9_-]{1,64}$/.test(name) ? undefined : `queue name '${name.slice(0, 80)}' is not 1-64 letters, digits, _ or -`;
}

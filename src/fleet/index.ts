// The fleet's public API (`import { Fleet } from 'capsule/fleet'`): apart
// from the main entry so that `run()` alone never loads BullMQ.

export { Fleet } from './client.js';
export type { FleetOptions, SubmitInput, JobStatus, JobState } from './client.js';
export type { JobResult, JobSpecInput, KeptStream } from './job.js';
export { JOB_LIMITS } from './job.js';
export { FleetWorker } from './worker.js';
export type { FleetWorkerOptions } from './worker.js';
export { redisConnection } from './redis-url.js';
export { startServer } from './server.js';
export type { ServerOptions } from './server.js';
export { readTokens, Tokens } from './tokens.js';
export { readCeiling } from './ceiling.js';

// The --redis address of every fleet command: `redis://[:password@]host:port[/db]`,
// `rediss://...` (TLS) or `unix:///path/to/redis.sock`. Made into the
// connection options BullMQ hands to ioredis.

import type { ConnectionOptions } from 'bullmq';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { escapeText } from '../audit/escape.js';

export function redisConnection(url: string): ConnectionOptions {
  const bad = (why: string): CapsuleError => new CapsuleError(ExitCode.USAGE, `--redis '${escapeText(url)}': ${why}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL (redis://HOST:PORT or unix:///PATH)');
  }
  // Workers block on Redis and must retry forever rather than fail a job when Redis restarts.
  const common = { maxRetriesPerRequest: null, enableOfflineQueue: true } as const;
  if (u.protocol === 'unix:') {
    if (u.pathname === '' || u.pathname === '/') throw bad('no socket path');
    return { ...common, path: decodeURIComponent(u.pathname) };
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`scheme '${u.protocol}' is not redis:, rediss: or unix:`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw bad('the database number is not a whole number');
  const port = u.port === '' ? 6379 : Number(u.port);
  return {
    ...common,
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

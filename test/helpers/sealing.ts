// The workspace of a test that seals guests: a temporary directory, the
// seal key in a private file there, and the environment that keeps the
// CLI's control sockets and caches inside it.

import fs from 'node:fs';
import path from 'node:path';
import { tempDir, type TempDir } from './cli.js';

export interface SealingWorkspace {
  dir: TempDir;
  /** The key, written 0600 (what --seal-key wants). */
  keyFile: string;
  /** The prepared-module cache (CAPSULE_CACHE_DIR). */
  cacheDir: string;
  env: NodeJS.ProcessEnv;
}

export function sealingWorkspace(prefix: string, key: Uint8Array): SealingWorkspace {
  const dir = tempDir(prefix);
  const keyFile = path.join(dir.path, 'seal.key');
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  const cacheDir = path.join(dir.path, 'cache');
  return { dir, keyFile, cacheDir, env: { ...process.env, CAPSULE_RUNTIME_DIR: path.join(dir.path, 'run'), CAPSULE_CACHE_DIR: cacheDir } };
}

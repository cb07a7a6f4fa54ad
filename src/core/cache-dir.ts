// Where Capsule keeps what it can make again: modules prepared for
// suspension and the compiled code of its own bundles.

import os from 'node:os';
import path from 'node:path';

/** $CAPSULE_CACHE_DIR, else $XDG_CACHE_HOME/capsule, else ~/.cache/capsule. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['CAPSULE_CACHE_DIR']) return env['CAPSULE_CACHE_DIR'];
  if (env['XDG_CACHE_HOME']) return path.join(env['XDG_CACHE_HOME'], 'capsule');
  return path.join(os.homedir(), '.cache', 'capsule');
}

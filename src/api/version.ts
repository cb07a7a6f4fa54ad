// Capsule's own version, read once from its package.json: the CLI's
// --version and every usage report name it. The file sits a fixed number of
// levels above the tree (dist/src/api/) or the bundle (dist/bundle/), so
// it is looked for upwards rather than at one path.

import fs from 'node:fs';

let cached: string | undefined;

export function capsuleVersion(): string {
  if (cached !== undefined) return cached;
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 5; i++, dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'capsule' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // Not here (or not readable): look one level up.
    }
  }
  return (cached = 'unknown');
}

// The committed test guests: test/guests/**/*.wasm, by name relative to
// test/guests without the extension ("hello", "hostile/spin"); sources
// under test/guests/src are not guests.

import fs from 'node:fs';
import path from 'node:path';

export function committedGuests(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { if (p !== path.join(root, 'src')) walk(p); }
      else if (e.name.endsWith('.wasm')) out.push(path.relative(root, p).slice(0, -'.wasm'.length).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

// Every committed test guest has its source beside it and a test that runs it:
// a guest program nobody runs would be dead weight that looks like coverage.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function files(dir: string, ext: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, ext) : e.name.endsWith(ext) ? [p] : [];
  });
}

describe('test guests', () => {
  const guests = files(path.join(ROOT, 'test/guests'), '.wasm');
  const sources = new Set(files(path.join(ROOT, 'test/guests/src'), '').map((f) => path.basename(f).replace(/\.(c|wat)$/, '')));
  const tests = files(path.join(ROOT, 'test'), '.ts').filter((f) => !f.includes(`${path.sep}guests${path.sep}`))
    .map((f) => fs.readFileSync(f, 'utf8')).join('\n');

  it('are there', () => assert.ok(guests.length > 20, `${guests.length} guests`));

  it('each has its source committed beside it', () => {
    const missing = guests.map((g) => path.basename(g, '.wasm')).filter((n) => !sources.has(n));
    assert.deepEqual(missing, []);
  });

  it('each is run by some test', () => {
    const unused = guests.map((g) => path.basename(g, '.wasm')).filter((n) => !new RegExp(`['"\`/]${n}(\\.wasm)?['"\`]`).test(tests));
    assert.deepEqual(unused, []);
  });
});

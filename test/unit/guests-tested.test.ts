// Every committed test guest has its source committed beside it. That each is
// actually run by a test is checked after the whole suite, from what the test
// processes ran (test/after/guests-run.ts, under npm test).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { committedGuests } from '../helpers/guests.js';

function sourceNames(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.add(e.name.replace(/\.(c|wat)$/, ''));
    }
  };
  walk(dir);
  return out;
}

describe('test guests', () => {
  const guests = committedGuests(path.join(ROOT, 'test/guests'));

  it('are there', () => assert.ok(guests.length > 20, `${guests.length} guests`));

  it('each has its source committed beside it', () => {
    const sources = sourceNames(path.join(ROOT, 'test/guests/src'));
    assert.deepEqual(guests.filter((g) => !sources.has(path.basename(g))), []);
  });
});

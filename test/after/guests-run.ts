// Run by `npm test` after the whole suite (scripts/test.mjs): every committed
// test guest was actually run by some test, as scripts/guest-runs.cjs
// noted in each test process. A guest nobody runs would be dead weight that
// looks like coverage; a name merely quoted somewhere does not count.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { committedGuests } from '../helpers/guests.js';

const dir = process.env['CAPSULE_TEST_GUEST_RUNS'];

describe('test guests', { skip: dir ? false : 'runs only after the whole suite, under npm test' }, () => {
  it('each committed guest was run by a test', () => {
    const run = new Set<string>();
    for (const f of fs.readdirSync(dir!)) {
      for (const name of fs.readFileSync(path.join(dir!, f), 'utf8').split('\n')) if (name) run.add(name);
    }
    const guests = committedGuests(path.join(ROOT, 'test/guests'));
    assert.ok(guests.length > 20, `${guests.length} guests`);
    assert.deepEqual(guests.filter((g) => !run.has(g)), [], 'guests no test ran');
  });
});

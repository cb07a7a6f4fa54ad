// A system of many guests: twenty on one layer run to their ends, a failing
// one stops the rest, and Node never warns of a listener leak (a signal that
// every guest listened on did so from the eleventh guest on).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir } from '../helpers/cli.js';

const GUESTS = 20;
const tmp = tempDir('capsule-many-');
after(() => tmp.cleanup());

function systemFile(name: string, guests: object[]): string {
  const file = path.join(tmp.path, name);
  fs.writeFileSync(file, JSON.stringify({ guests }));
  return file;
}

describe(`capsule up with ${GUESTS} guests`, () => {
  it('runs them all with no warning on stderr', async () => {
    const file = systemFile('all.json', Array.from({ length: GUESTS }, (_, i) => ({ name: `g${i}`, module: guest('hello') })));
    const r = await runCli(['up', file], { timeoutMs: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning/);
    for (let i = 0; i < GUESTS; i++) assert.match(r.stdout, new RegExp(`^g${i} +\\| hello from capsule$`, 'm'));
  });

  it('stops them all when one fails, with no warning on stderr', async () => {
    // Servers that wait for a client who never comes: only the stop ends them.
    const guests = Array.from({ length: GUESTS }, (_, i) => ({ name: `w${i}`, module: guest('echo_server'), args: [String(7000 + i), '1'] }));
    guests.push({ name: 'bad', module: guest('exit_code'), args: ['3'] } as never);
    const r = await runCli(['up', systemFile('fail.json', guests)], { timeoutMs: 60_000 });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /'bad' failed, so the system stops/);
    assert.doesNotMatch(r.stderr, /Warning/);
    assert.ok(lines(r.stderr).every((l) => l.startsWith('capsule: ') || /^\w+ +\| /.test(l)), r.stderr);
  });
});

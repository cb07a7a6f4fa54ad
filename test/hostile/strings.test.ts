// Hostile guests, strings: what a guest chooses (paths, symlink targets)
// reaches the user only escaped and bounded — it cannot forge a `capsule:`
// line, drive the terminal, or grow the audit log and the host's memory.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { checkedRun, eventCount, hostileGuest, MiB, peakRssGrowth, recordsOf, warmUp } from '../helpers/hostile.js';

/** Anything a terminal would obey, or that would start a line. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('hostile guests: strings in Capsule\'s own words', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir('capsule-strings-');
    fs.mkdirSync(path.join(tmp.path, 'data'));
  });
  after(() => tmp.cleanup());

  const forge = (extra: string[]) => runCli(['run', ...extra, '--dir', `${path.join(tmp.path, 'data')}::/data`, hostileGuest('hostile_strings'), 'forge']);

  it('forged paths and symlink targets: one capsule: line on stderr, no raw control character, nothing forged', { timeout: 30_000 }, async () => {
    const r = await forge([]);
    assert.equal(r.code, 0, r.stderr);
    for (const label of ['forge_0', 'forge_1', 'forge_2', 'forge_3', 'forge_4', 'forge_symlink']) assert.match(r.stdout, new RegExp(`^${label}: ENOTCAPABLE$`, 'm'));
    assert.match(r.stdout, /^forge_utf8: EILSEQ$/m);
    // The guest writes nothing to stderr: the one line there is Capsule's summary.
    const lines = r.stderr.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, 1, JSON.stringify(r.stderr));
    assert.match(lines[0]!, /^capsule: the policy denied 6 calls; first: path_open \/data\/\.\.\/\\ncapsule: FORGED exit summary\\x1b\[2J\\x1b\]0;pwned\\x07: /);
    assert.doesNotMatch(r.stderr.slice(0, -1), RAW_CONTROL);
    assert.ok(!r.stderr.includes('\x1b') && !r.stderr.includes('\r') && !r.stderr.includes('\u009b'));
  });

  it('the audit file carries the same strings escaped, no record raw', { timeout: 30_000 }, async () => {
    const audit = path.join(tmp.path, 'audit.jsonl');
    const r = await forge(['--audit', audit]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op: string; target: string; reason: string });
    const denials = records.filter((x) => x.op === 'path_open' || x.op === 'path_symlink');
    assert.equal(denials.length, 6);
    for (const d of denials) assert.doesNotMatch(d.target + d.reason, RAW_CONTROL, d.target);
    assert.ok(denials.some((d) => d.target.includes('\\u202etxt.exe\\u2066')));
    assert.ok(denials.some((d) => d.op === 'path_symlink' && d.target.includes('-> /etc/\\ncapsule: FORGED\\x1b[0m')));
  });

  it('2000 refusals of distinct 4000-byte paths: every record bounded, every refusal counted, the host\'s memory bounded', { timeout: 60_000 }, async () => {
    await warmUp();
    const { value: r, growth } = await peakRssGrowth(() =>
      checkedRun('hostile_strings', { args: ['long', '2000', '4000'], dirs: [{ host: path.join(tmp.path, 'data'), guest: '/data' }] }));
    assert.equal(r.verdicts.get('long'), 'refused=2000 toolong=0');
    const denies = recordsOf(r.audit, 'deny', 'path_open');
    assert.equal(eventCount(denies), 2000);
    assert.equal(r.result.audit.deny, 2000);
    const bytes = denies.reduce((n, d) => n + JSON.stringify(d).length, 0);
    for (const d of denies) assert.ok(JSON.stringify(d).length < 1024, `a record of ${JSON.stringify(d).length} bytes`);
    // Unbounded, each distinct path made a reason and a record of its own: megabytes here.
    assert.ok(bytes < 512 * 1024, `${bytes} bytes of audit records`);
    assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
  });

  it('2000 opens of distinct 256 KiB paths: ENAMETOOLONG before they are decoded, no record, the host\'s memory flat', { timeout: 60_000 }, async () => {
    await warmUp();
    const { value: r, growth } = await peakRssGrowth(() =>
      checkedRun('hostile_strings', { args: ['long', '2000', String(256 * 1024)], dirs: [{ host: path.join(tmp.path, 'data'), guest: '/data' }] }));
    assert.equal(r.verdicts.get('long'), 'refused=0 toolong=2000');
    assert.equal(recordsOf(r.audit, 'deny', 'path_open').length, 0);
    // Decoded and walked, these paths grew the host by 75-385 MiB.
    assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
  });
});

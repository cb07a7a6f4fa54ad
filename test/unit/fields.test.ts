// One schema for every granted value (src/policy/fields.ts): a value is
// refused the same way whether it comes as a flag, in a policy file, in a
// system file or as a run() option; only the prefix naming where differs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { policyFor, type RunOptions } from '../../src/api/run.js';
import { parseDir, parseEnv, parseLimits, parseName, parseTmpfs } from '../../src/cli/parse.js';
import { readSystemFile } from '../../src/cli/system-file.js';
import { readPolicyFile } from '../../src/policy/document.js';
import type { LimitKey } from '../../src/policy/fields.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-fields-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** The CapsuleError `fn` throws (sync or async). */
async function refusal(fn: () => unknown): Promise<CapsuleError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof CapsuleError, `not a CapsuleError: ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `more than one line: ${JSON.stringify(err.message)}`);
    return err;
  }
  assert.fail('accepted');
}

function writeJson(value: unknown): string {
  const file = path.join(dir, `f${files++}.json`);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

const system = (g: Record<string, unknown>, top: Record<string, unknown> = {}): string =>
  writeJson({ ...top, guests: [{ name: 'g', module: 'g.wasm', ...g }] });

/** Flag, policy file, system file: the same message after each one's prefix, with each one's exit code. */
async function sameEverywhere(flag: () => unknown, policy: string | undefined, sys: string | undefined, api: RunOptions | undefined,
  expect: RegExp): Promise<void> {
  const f = await refusal(flag);
  assert.equal(f.exitCode, 64, f.message);
  const m = /^--[a-z-]+ '.*?': (.*)$/.exec(f.message);
  assert.ok(m, f.message);
  const message = m[1]!;
  assert.match(message, expect);
  if (policy !== undefined) {
    const p = await refusal(() => readPolicyFile(policy));
    assert.equal(p.exitCode, 78);
    assert.ok(p.message.startsWith(`${policy}: `) && p.message.endsWith(`: ${message}`), `${p.message} vs ${message}`);
  }
  if (sys !== undefined) {
    const s = await refusal(() => readSystemFile(sys));
    assert.equal(s.exitCode, 78);
    assert.ok(s.message.startsWith(`${sys}: `) && s.message.endsWith(`: ${message}`), `${s.message} vs ${message}`);
  }
  if (api !== undefined) {
    const a = await refusal(() => policyFor(api, 'g'));
    assert.equal(a.exitCode, 64);
    assert.ok(a.message.endsWith(`: ${message}`), `${a.message} vs ${message}`);
  }
}

describe('mount specs', () => {
  it('unknown mount options are refused, naming the accepted ones (flag and system file)', async () => {
    for (const spec of ['data::/data:rx', 'data::/data:RO', 'data::/data:r', 'data::/data:ro,x', 'data::/data:', 'data:rx', '/srv/d::/d:readonly']) {
      await sameEverywhere(() => parseDir(spec), undefined, system({ dirs: [spec] }), undefined, /^unknown mount option '.*' \(accepted: ro, rw\)$/);
    }
  });

  it('conflicting options are refused', async () => {
    await sameEverywhere(() => parseDir('d::/d:ro,rw'), undefined, system({ dirs: ['d::/d:ro,rw'] }), undefined, /conflict/);
  });

  it('a guest path that is not absolute and normalised is refused everywhere, in every form', async () => {
    const cases: [string, RegExp][] = [
      ['data', /not absolute/], ['./data', /not absolute/], ['/data/', /not normalised \(expected \/data\)/],
      ['/data/../etc', /not normalised \(expected \/etc\)/], ['//data', /not normalised/], ['/a/./b', /not normalised \(expected \/a\/b\)/],
      ['/a//b', /not normalised/], ['..', /not absolute/],
    ];
    for (const [guest, expect] of cases) {
      await sameEverywhere(() => parseDir(`host::${guest}`), writeJson({ mounts: [{ host: 'h', guest }] }),
        system({ dirs: [{ host: 'h', guest }] }), { dirs: [{ host: 'h', guest }] }, expect);
      await sameEverywhere(() => parseTmpfs(`${guest}:1MiB`), writeJson({ mounts: [{ tmpfs: '1MiB', guest }] }), undefined,
        { tmpfs: { [guest]: 1 << 20 } }, expect);
    }
  });

  it('a NUL in a guest path is refused', async () => {
    await sameEverywhere(() => parseDir('h::/a\0b'), writeJson({ mounts: [{ host: 'h', guest: '/a\0b' }] }),
      system({ dirs: ['h::/a\0b'] }), { dirs: [{ host: 'h', guest: '/a\0b' }] }, /NUL/);
  });

  it('every accepted spelling still means what it says', async () => {
    assert.deepEqual(parseDir('data::/data:ro'), { host: 'data', guest: '/data', readOnly: true });
    assert.deepEqual(parseDir('data::/data:rw'), { host: 'data', guest: '/data', readOnly: false });
    assert.deepEqual(parseDir('/srv/x'), { host: '/srv/x', guest: '/srv/x', readOnly: false });
    assert.deepEqual(parseDir('.'), { host: '.', guest: '.', readOnly: false });
    assert.deepEqual(parseTmpfs('/t'), ['/t', 64 << 20]);
    assert.deepEqual(parseTmpfs('/t:1MiB'), ['/t', 1 << 20]);
    const spec = await readSystemFile(system({ dirs: ['d::/d:ro', { host: 'e', guest: '/e' }] }));
    assert.deepEqual(spec.guests[0]!.dirs.map((d) => [d.guest, d.readOnly]), [['/d', true], ['/e', false]]);
  });
});

describe('limits', () => {
  const FLAGS: Record<LimitKey, string> = {
    memoryBytes: 'memory', timeoutMs: 'timeout', maxFds: 'maxFds', maxSockets: 'maxSockets', maxThreads: 'maxThreads',
    queueBytes: 'queueBytes', callBytes: 'callBytes', outputBytes: 'maxOutput',
  };
  // [limit, value as a flag would spell it, value in a file, value through the API (when the API can spell it), expected]
  const BAD: [LimitKey, string, string | number, number | undefined, RegExp][] = [
    ['maxFds', '0', 0, 0, /between 4 and 65536/],
    ['maxFds', '3', 3, 3, /between 4 and 65536/],
    ['maxFds', '65537', 65537, 65537, /between 4 and 65536/],
    ['maxFds', '-1', -1, -1, /a whole number|between/],
    ['maxFds', '2.5', 2.5, 2.5, /a whole number/],
    ['maxFds', 'many', 'many', undefined, /a whole number/],
    ['maxSockets', '99999999999', 99999999999, 99999999999, /between 0 and 65536/],
    ['maxThreads', '0', 0, 0, /between 1 and 1024/],
    ['maxThreads', '1025', 1025, 1025, /between 1 and 1024/],
    ['memoryBytes', '1k', '1k', 1024, /between 64 KiB and 4 GiB/],
    ['memoryBytes', '0', 0, 0, /between 64 KiB and 4 GiB/],
    ['memoryBytes', '5GiB', '5GiB', 5 * 2 ** 30, /between 64 KiB and 4 GiB/],
    ['memoryBytes', '99999999999GiB', '99999999999GiB', undefined, /size|between/],
    ['memoryBytes', '-1', -1, -1, /expected a size/],
    ['memoryBytes', '256MB!', '256MB!', undefined, /expected a size/],
    ['timeoutMs', '1000h', '1000h', 3.6e9, /0 \(no limit\) or between 1ms and 596h/],
    ['timeoutMs', '0.5', 0.5, 0.5, /between 1ms/],
    ['timeoutMs', '10 parsecs', '10 parsecs', undefined, /expected a duration/],
    ['queueBytes', '0', 0, 0, /between 4 KiB and 1 GiB/],
    ['callBytes', '1k', '1k', 1024, /between 64 KiB and 1 GiB/],
    ['outputBytes', '1k', '1k', 1024, /0 \(no limit\) or between 4 KiB and 4 GiB/],
    ['outputBytes', '1TiB', '1TiB', undefined, /expected a size/],
  ];

  it('a bad value is refused the same way as a flag, in a policy file, in a system file and through run()', async () => {
    for (const [key, flagValue, fileValue, apiValue, expect] of BAD) {
      const field = FLAGS[key];
      await sameEverywhere(() => parseLimits({ [key]: flagValue }), writeJson({ limits: { [field]: fileValue } }),
        system({}, { limits: { [field]: fileValue } }), apiValue === undefined ? undefined : { limits: { [key]: apiValue } }, expect);
    }
  });

  it('the edges themselves are accepted', async () => {
    assert.deepEqual(parseLimits({ maxFds: '4', maxSockets: '0', memoryBytes: '64KiB', timeoutMs: '0', outputBytes: '0' }),
      { maxFds: 4, maxSockets: 0, memoryBytes: 65536, timeoutMs: 0, outputBytes: 0 });
    assert.deepEqual(parseLimits({ maxFds: '65536', memoryBytes: '4GiB', timeoutMs: '596h' }),
      { maxFds: 65536, memoryBytes: 4 * 2 ** 30, timeoutMs: 596 * 3_600_000 });
    const p = await policyFor({ policy: { limits: { maxFds: 4, memory: '64KiB' } }, limits: { maxSockets: 0 } }, 'g');
    assert.equal(p.limits.maxFds, 4);
    assert.equal(p.limits.memoryBytes, 65536);
    assert.equal(p.limits.maxSockets, 0);
  });

  it('the API shorthand timeoutMs is held to the same bounds', async () => {
    const e = await refusal(() => policyFor({ timeoutMs: 3.6e9 }, 'g'));
    assert.match(e.message, /^timeoutMs: must be 0 \(no limit\) or between 1ms and 596h$/);
    assert.match((await refusal(() => policyFor({ timeoutMs: -5 }, 'g'))).message, /^timeoutMs: expected a duration/);
  });
});

describe('names and environment', () => {
  it('an invalid guest name is refused as --name, in a system file and through run()', async () => {
    for (const name of ['Bad_Name', '-lead', 'trail-', 'a'.repeat(64), 'dot.ted', 'sp ace', '', 'ünï']) {
      await sameEverywhere(() => parseName(name), undefined, system({ name }), { name }, /host name/);
    }
  });

  it('names are case-insensitive everywhere', async () => {
    assert.equal(parseName('Server'), 'server');
    assert.equal((await readSystemFile(system({ name: 'Server' }))).guests[0]!.name, 'server');
  });

  it('a bad variable is refused as --env, in a policy file, in a system file and through run()', async () => {
    await sameEverywhere(() => parseEnv(['A\0B=1'], {}), writeJson({ env: { 'A\0B': '1' } }), system({ env: { 'A\0B': '1' } }),
      { env: { 'A\0B': '1' } }, /name contains a NUL/);
    await sameEverywhere(() => parseEnv(['A=1\0'], {}), writeJson({ env: { A: '1\0' } }), system({ env: { A: '1\0' } }),
      { env: { A: '1\0' } }, /value contains a NUL/);
    await sameEverywhere(() => parseEnv(['=x'], {}), writeJson({ env: { '': 'x' } }), system({ env: { '': 'x' } }),
      { env: { '': 'x' } }, /name is empty/);
  });

  it('the value a flag shows in its message is escaped', async () => {
    const e = await refusal(() => parseDir('d::/d:\x1b[31m'));
    assert.ok(!e.message.includes('\x1b'), JSON.stringify(e.message));
    assert.match(e.message, /\\x1b\[31m/);
  });
});

// The CLI's value syntaxes (src/cli/parse.ts): --dir HOST::GUEST[:ro] and
// --env NAME[=VALUE], every accepted form and every error.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { parseDir, parseEnv } from '../../src/cli/parse.js';

const usage = (needle: string) => (e: unknown): boolean =>
  e instanceof CapsuleError && e.exitCode === 64 && e.message.includes(needle) && !e.message.includes('\n');

describe('parseDir', () => {
  it('accepts every syntax', () => {
    const cases: [string, { host: string; guest: string; readOnly: boolean }][] = [
      ['/srv/data::/data', { host: '/srv/data', guest: '/data', readOnly: false }],
      ['/srv/data::/data:ro', { host: '/srv/data', guest: '/data', readOnly: true }],
      ['/srv/data::/data:rw', { host: '/srv/data', guest: '/data', readOnly: false }],
      ['/srv/data', { host: '/srv/data', guest: '/srv/data', readOnly: false }],
      ['/srv/data:ro', { host: '/srv/data', guest: '/srv/data', readOnly: true }],
      ['.::.', { host: '.', guest: '.', readOnly: false }],
      ['rel/dir::/', { host: 'rel/dir', guest: '/', readOnly: false }],
      ['/a:b::/c', { host: '/a:b', guest: '/c', readOnly: false }],
    ];
    for (const [spec, want] of cases) assert.deepEqual(parseDir(spec), want, spec);
  });

  it('rejects an empty host directory', () => {
    for (const spec of ['::/x', '', ':ro', '::/x:ro']) {
      assert.throws(() => parseDir(spec), usage('host directory is empty'), JSON.stringify(spec));
    }
  });

  it('rejects an empty guest path', () => {
    for (const spec of ['/x::', '/x:::ro']) assert.throws(() => parseDir(spec), usage('guest path is empty'), spec);
  });

  it("rejects more than one '::'", () => {
    assert.throws(() => parseDir('/a::/b::/c'), usage("more than one '::'"));
  });

  it('names the offending spec in the message', () => {
    assert.throws(() => parseDir('::/where'), usage("'::/where'"));
  });
});

describe('parseEnv', () => {
  it('takes NAME=VALUE literally (value may be empty or contain "=")', () => {
    assert.deepEqual(parseEnv(['A=1', 'B=', 'C=x=y', 'D= spaced '], {}), { A: '1', B: '', C: 'x=y', D: ' spaced ' });
  });

  it('bare NAME passes the host value, or is skipped when the host has none', () => {
    assert.deepEqual(parseEnv(['HOME_X', 'MISSING_X', 'EMPTY_X'], { HOME_X: '/home/u', EMPTY_X: '' }),
      { HOME_X: '/home/u', EMPTY_X: '' });
  });

  it('a later setting of the same name wins', () => {
    assert.deepEqual(parseEnv(['A=1', 'A=2'], {}), { A: '2' });
    assert.deepEqual(parseEnv(['A=1', 'A'], { A: 'host' }), { A: 'host' });
  });

  it('nothing is inherited unless named', () => {
    assert.deepEqual(parseEnv([], { PATH: '/bin' }), {});
  });

  it('rejects an empty name', () => {
    for (const spec of ['=x', '', '=']) assert.throws(() => parseEnv([spec], {}), usage('name is empty'), JSON.stringify(spec));
  });

  it('rejects a NUL byte in the name or the value', () => {
    for (const spec of ['A\0B=1', 'A=1\0', 'A\0']) assert.throws(() => parseEnv([spec], {}), usage('NUL'), JSON.stringify(spec));
  });
});

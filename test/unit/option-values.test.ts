// run()'s zod-free option check (src/api/option-values.ts) may only skip the
// schema when the schema would accept: never a value that options.ts refuses.
// Typical options pass it, so a run with dirs or limits never loads zod.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { optionsAreValid } from '../../src/api/option-values.js';
import { checkRunOptions } from '../../src/api/options.js';
import type { RunOptions } from '../../src/api/run.js';

const accepted = (o: RunOptions): boolean => {
  try {
    checkRunOptions(o);
    return true;
  } catch {
    return false;
  }
};

const names = ['web', 'Web-1', '-bad', 'a'.repeat(64), '', 'ok9'];
const paths = ['/data', '.', 'data', '/data/', '/a/../b', '/x:ro', '', '/t', '/a\0b'];
const hosts = ['./in', '/srv/x', '', 'a\0b'];
const numbers = [0, 1, 3, 4, 4096, 65536, 65537, 64 * 1024, 16 * 1024 * 1024, 2 ** 32, 2 ** 40, -1, 1.5, Number.NaN];
// Limits and sizes may be written as files write them, too.
const values = [...numbers, '64MiB', '4k', '1k', '10s', '500ms', '0', '', 'x', '1.5GB', '-1'];
const envNames = ['LANG', 'A=B', '', 'X\0'];
const limitKeys = ['memoryBytes', 'timeoutMs', 'maxFds', 'maxSockets', 'maxThreads', 'queueBytes', 'callBytes', 'outputBytes', 'bogus'];

const options: fc.Arbitrary<RunOptions> = fc.record({
  name: fc.option(fc.constantFrom(...names), { nil: undefined }),
  dirs: fc.option(fc.array(fc.record({
    host: fc.constantFrom(...hosts), guest: fc.constantFrom(...paths), readOnly: fc.option(fc.boolean(), { nil: undefined }),
  }), { maxLength: 3 }), { nil: undefined }),
  tmpfs: fc.option(fc.dictionary(fc.constantFrom(...paths), fc.constantFrom(...values), { maxKeys: 2 }), { nil: undefined }),
  env: fc.option(fc.dictionary(fc.constantFrom(...envNames), fc.constantFrom('C.UTF-8', '', 'a\0b'), { maxKeys: 2 }), { nil: undefined }),
  limits: fc.option(fc.dictionary(fc.constantFrom(...limitKeys), fc.constantFrom(...values), { maxKeys: 3 }), { nil: undefined }),
  timeoutMs: fc.option(fc.constantFrom(...values), { nil: undefined }),
}, { requiredKeys: [] }) as fc.Arbitrary<RunOptions>;

describe('run() options without zod', () => {
  it('never skips the schema for options it refuses (3,000 random option sets)', () => {
    fc.assert(fc.property(options, (o) => !optionsAreValid(o) || accepted(o)), { numRuns: 3000 });
  });

  it('typical options pass without the schema; typos do not', () => {
    const typical: RunOptions = {
      name: 'Tool', dirs: [{ host: './in', guest: '/data', readOnly: true }], tmpfs: { '/tmp': 1 << 20 },
      env: { LANG: 'C.UTF-8' }, limits: { memoryBytes: 64 << 20, maxFds: 64 }, timeoutMs: 10_000,
    };
    assert.equal(optionsAreValid(typical), true);
    assert.equal(accepted(typical), true);
    for (const bad of [
      { dirs: [{ host: './in', guest: 'data' }] }, { dirs: [{ host: './in', guest: '/data', ro: true }] },
      { limits: { maxFds: 0 } }, { limits: { memory: 1 << 20 } }, { tmpfs: { '/t:ro': 4096 } }, { name: '-x' }, { env: { 'A=B': '1' } },
    ] as RunOptions[]) {
      assert.equal(optionsAreValid(bad), false, JSON.stringify(bad));
      assert.equal(accepted(bad), false, JSON.stringify(bad));
    }
  });
});

// The official WASI preview 1 conformance suite, through the real CLI, in
// both execution modes. Skips (visibly) when the suite is not present.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { discover, runAll, suiteRoot } from './suite.js';

const present = fs.existsSync(suiteRoot());

for (const mode of ['secure', 'normal'] as const) {
  describe(`WASI conformance suite (${mode} mode)`, { skip: present ? false : `suite not found at ${suiteRoot()}` }, () => {
    it('passes every test', async () => {
      const tests = discover();
      assert.ok(tests.length >= 72, `expected the 72 tests, found ${tests.length}`);
      const results = await runAll(tests, mode);
      const failures = results.filter((r) => !r.passed);
      for (const f of failures) console.log(`FAIL [${mode}] ${f.test.name}: ${f.reason}`);
      console.log(`conformance [${mode}]: ${results.length - failures.length} of ${results.length} passed`);
      assert.deepEqual(failures.map((f) => f.test.name), []);
    });
  });
}

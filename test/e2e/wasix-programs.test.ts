// Programs built by the real WASIX toolchain (wasix-libc, shared imported
// memory, -pthread; see scripts/build-wasix-guests.sh) run unchanged.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MODES, ROOT, runCli } from '../helpers/cli.js';

const wasix = (name: string): string => path.join(ROOT, 'test', 'guests', 'wasix', `${name}.wasm`);

for (const mode of MODES) {
  describe(`WASIX toolchain programs (${mode} mode)`, () => {
    it('a printf-only hello gets past instantiation (its shared memory is imported)', async () => {
      const r = await runCli(['run', '--mode', mode, '--trap-unknown-imports', wasix('wasix_hello')]);
      assert.doesNotMatch(r.stderr, /cannot provide|cannot link/);
      assert.notEqual(r.code, 65, r.stderr);
    });
  });
}

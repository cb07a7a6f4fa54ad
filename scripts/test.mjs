// `npm test`: every test file under dist/test, then the checks that need the
// whole suite to have run (dist/test/after). Each test process notes the test
// guests it runs (scripts/guest-runs.cjs, preloaded) in a temporary
// directory the after-checks read.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const files = (dir, suffix) => fs.readdirSync(dir, { recursive: true })
  .filter((f) => f.endsWith(suffix)).map((f) => path.join(dir, f)).sort();

const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-guest-runs-'));
const preload = `--require=${JSON.stringify(fileURLToPath(new URL('guest-runs.cjs', import.meta.url)))}`;
const env = { ...process.env, CAPSULE_TEST_GUEST_RUNS: runs, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${preload}`.trim() };
let code = 1;
try {
  const suite = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files('dist/test', '.test.js')], { stdio: 'inherit', env });
  // Run even after a failure: what it says (guests that failing tests did not reach) helps find why.
  // Reported with the dot reporter: the suite's own summary stays the one summary of the run.
    const after = spawnSync(process.execPath, ['--test', '--test-reporter=dot', ...files('dist/test/after', '.js')],
    { stdio: 'inherit', env: { ...process.env, CAPSULE_TEST_GUEST_RUNS: runs } });
  code = (suite.status ?? 1) || (after.status ?? 1);
} finally {
  fs.rmSync(runs, { recursive: true, force: true });
}
process.exit(code);

// `node dist/test/conformance/run.js [normal|secure]...`: runs the WASI
// conformance suite through the CLI and prints one line per failing test and
// a summary per mode. Exits 1 if any test failed, 2 if the suite is missing.

import fs from 'node:fs';
import { discover, runAll, suiteRoot } from './suite.js';

const modes = (process.argv.slice(2).length ? process.argv.slice(2) : ['secure', 'normal']) as ('normal' | 'secure')[];
if (!fs.existsSync(suiteRoot())) {
  console.error(`conformance: WASI test suite not found at ${suiteRoot()} (set CAPSULE_WASI_TESTSUITE)`);
  process.exit(2);
}
const tests = discover();
let failed = 0;
for (const mode of modes) {
  const results = await runAll(tests, mode);
  for (const r of results) if (!r.passed) console.log(`FAIL [${mode}] ${r.test.name}: ${r.reason}`);
  const passed = results.filter((r) => r.passed).length;
  failed += results.length - passed;
  console.log(`conformance [${mode}]: ${passed} of ${results.length} passed`);
}
process.exitCode = failed ? 1 : 0;

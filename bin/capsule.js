#!/usr/bin/env -S node --
// `--`: Node 20 reads an `--env-file` anywhere on its command line as its own, even after the script; `--` ends its options.
// Entry point of the `capsule` command, a CommonJS file (bin/package.json): Node starts one sooner than an ES
// module. The code is built into dist/ by `npm run build` (run by `npm ci`): bundled CommonJS files for
// start-up speed, run with a code cache kept in the user's cache directory; the module tree as a fallback.
'use strict';

let boot;
try {
  boot = require('../dist/bundle/boot.cjs');
} catch (err) {
  if (err?.code !== 'MODULE_NOT_FOUND') throw err;
}
// For `run` and `resume`, the guest's enclave thread starts booting before the CLI itself loads.
const early = process.argv[2] === 'run' || process.argv[2] === 'resume';
if (boot) {
  // Before any code loads, so that every thread's code cache is made and taken under the same V8 flags.
  boot.presetCompilerFlags();
  if (early) boot.prewarm();
  boot.loadBundle(require('node:path').join(__dirname, '../dist/bundle/capsule.cjs')).main(process.argv);
} else {
  (async () => {
    if (early) (await import('../dist/src/enclave/pool.js')).prewarm();
    await (await import('../dist/src/cli/entry.js')).main(process.argv);
  })();
}

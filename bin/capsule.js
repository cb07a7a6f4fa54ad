#!/usr/bin/env node
// Entry point of the `capsule` command. The code is built into dist/ by `npm run build`
// (run by `npm ci`): one bundled file for start-up speed, the module tree as a fallback.
let cli;
try {
  cli = await import('../dist/bundle/capsule.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  cli = await import('../dist/src/cli/entry.js');
}
// For `run`, the guest's enclave thread starts booting while the rest loads.
if (process.argv[2] === 'run') cli.prewarm();
await cli.main(process.argv);

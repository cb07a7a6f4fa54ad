#!/usr/bin/env -S node --
// `--`: Node 20 reads an `--env-file` anywhere on its command line as its own, even after the script; `--` ends its options.
// Entry point of the `capsule` command. The code is built into dist/ by `npm run build`
// (run by `npm ci`): bundled CommonJS files for start-up speed, the module tree as a fallback.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
async function load(bundled, tree) {
  try {
    return require(bundled);
  } catch (err) {
    if (err?.code !== 'MODULE_NOT_FOUND') throw err;
    return import(tree);
  }
}
// For `run`, the guest's enclave thread starts booting before the CLI itself loads.
if (process.argv[2] === 'run') (await load('../dist/bundle/pool.cjs', '../dist/src/enclave/pool.js')).prewarm();
const cli = await load('../dist/bundle/capsule.cjs', '../dist/src/cli/entry.js');
await cli.main(process.argv);

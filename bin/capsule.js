#!/usr/bin/env node
// Entry point of the `capsule` command; the code lives in dist/ (built by `npm run build`).
// For `run`, the guest's enclave thread starts booting before anything else loads.
if (process.argv[2] === 'run') (await import('../dist/src/enclave/pool.js')).prewarm();
const { main } = await import('../dist/src/cli/main.js');
await main(process.argv);

#!/usr/bin/env node
// Entry point of the `capsule` command; the code lives in dist/ (built by `npm run build`).
import { main } from '../dist/src/cli/main.js';

await main(process.argv);

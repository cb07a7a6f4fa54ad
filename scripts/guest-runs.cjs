// Preloaded into every process of `npm test` (scripts/test.mjs, through
// NODE_OPTIONS=--require; CommonJS because it costs a process next to nothing
// at start): notes each test guest Capsule opens to run (a module path given
// to run(), the CLI or a system file) or a test reads for its bytes, so that
// test/after/guests-run.ts can tell which committed guests were actually run.
// Does nothing unless CAPSULE_TEST_GUEST_RUNS names a directory.
'use strict';

const dir = process.env.CAPSULE_TEST_GUEST_RUNS;
if (dir && require('node:worker_threads').isMainThread) {
  const fs = require('node:fs');
  const path = require('node:path');
  const { fileURLToPath } = require('node:url');
  const guests = path.resolve(__dirname, '..', 'test', 'guests') + path.sep;
  const log = path.join(dir, `${process.pid}.log`);
  const seen = new Set();
  const note = (file) => {
    if (typeof file !== 'string' && !(file instanceof URL)) return;
    const abs = path.resolve(file instanceof URL ? fileURLToPath(file) : file);
    if (!abs.startsWith(guests) || !abs.endsWith('.wasm')) return;
    const name = abs.slice(guests.length, -'.wasm'.length).split(path.sep).join('/');
    if (seen.has(name)) return;
    seen.add(name);
    fs.appendFileSync(log, `${name}\n`);
  };
  const wrap = (f) => function (file, ...rest) { note(file); return f.call(this, file, ...rest); };
  fs.promises.open = wrap(fs.promises.open);
  fs.promises.readFile = wrap(fs.promises.readFile);
  fs.readFileSync = wrap(fs.readFileSync);
  require('node:module').syncBuiltinESMExports();
}

// An enclave thread may run guest after guest (enclave/pool.ts), so module
// state of the code it loads must not carry anything of one guest to the
// next. This finds every module-level variable and mutable container in the
// enclave's import graph: each is either let go between guests (registered
// with perGuest() in its module, core/guest-scope.ts) or listed here with
// why it holds nothing of a guest. A new one fails until it is one or the other.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { reachable } from '../helpers/import-graph.js';

/** Module state that holds nothing of a guest, by source file and name. */
const NOT_A_GUESTS: Record<string, string> = {
  'src/enclave/worker.ts guests': "a count of the thread's guests (reported in the usage)",
  'src/core/guest-scope.ts resets': 'the registry of resets itself',
  'src/snapshot/seal.ts unfinished': 'temporary snapshot files of a suspendable guest, whose thread is never reused',
  'src/snapshot/seal.ts exitHookSet': 'whether the exit hook that removes them is installed',
  'src/core/errno.ts names': 'errno names, built once',
  'src/core/net/ranges.ts tables': 'address range tables, built on first use',
  'src/core/net/ipaddr.ts lib': 'the address library, loaded on first use',
  'src/layer/net/inbox.ts nextRingId': "a counter of the thread's inbox rings (ids never shown to a guest)",
  'src/layer/net/datagram.ts encoded': "addresses' encodings, weakly keyed by address objects, which die with their guest",
  'src/enclave/wipe.ts observer': "a test-only hook of the host's",
  'src/abi/call-names.ts numbers': 'import names to numbers, built once',
  'src/abi/wasix/names.ts *': 'import names',
  'src/abi/preview1/names.ts *': 'import names',
  'src/enclave/guest-thread.ts LOCAL_PREVIEW1': 'import names',
  'src/enclave/guest-threads.ts sleeper': 'a word only ever waited on, never written',
  'src/host/random.ts urandom': "the descriptor of the kernel's /dev/urandom, outside any guest's table",
  'src/abi/preview1/process.ts IGNORED': 'signal numbers',
  'src/abi/wasix/signals.ts IGNORED_BY_DEFAULT': 'signal numbers',
  'src/abi/wasix/signals.ts UNCATCHABLE': 'signal numbers',
  'src/abi/wasix/thread-context.ts MAIN_THREAD_IDS': 'thread ids',
  'src/abi/flush-first.ts BLIND': 'import names',
  'src/layer/net/host-fd.ts BROKEN': 'error codes that end a stream',
  'src/core/release-buffer.ts transfer': "V8's ArrayBuffer.prototype.transfer, looked up once",
};

const STATE = /^(?:export )?(?:let (\w+)|const (\w+)(?::[^=]+)?\s*=\s*(?:new (?:Map|Set|WeakMap|WeakSet|Array|\w+Array)\b|\[\]|\{\}))/gm;

describe("the enclave's module state", () => {
  const modules = reachable(path.join(ROOT, 'dist/src/enclave/worker.js'));
  const found = [...modules].flatMap(([file, text]) => {
    const source = path.relative(path.join(ROOT, 'dist'), file).replace(/\.js$/, '.ts');
    return [...text.matchAll(STATE)].map((m) => ({ source, name: (m[1] ?? m[2])!, text }));
  });

  it('is found (the search works)', () => {
    assert.ok(modules.size > 50, `${modules.size} modules`);
    assert.ok(found.some((f) => f.source === 'src/abi/errors.ts' && f.name === 'onDenial'));
  });

  it('holds nothing of a guest after it ended: each piece is let go between guests, or holds no guest data', () => {
    const unexplained = found.filter(({ source, name, text }) => {
      if (NOT_A_GUESTS[`${source} ${name}`] !== undefined || NOT_A_GUESTS[`${source} *`] !== undefined) return false;
      // Let go by a reset registered in the same module.
      return !new RegExp(`perGuest\\(\\(\\) => \\{[^}]*\\b${name}\\b`).test(text);
    }).map(({ source, name }) => `${source} ${name}`);
    assert.deepEqual(unexplained, []);
  });

  it('lists nothing that is gone', () => {
    const present = new Set(found.flatMap(({ source, name }) => [`${source} ${name}`, `${source} *`]));
    assert.deepEqual(Object.keys(NOT_A_GUESTS).filter((k) => !present.has(k)), []);
  });
});

// The host thread never sleeps in Atomics.wait: a sleeping host thread stops
// every guest's calls, its timers and Ctrl-C. Blocking waits live only in
// code the enclave threads load (ring-wait.ts, layer-client.ts, the worker);
// this checks the import graphs of the built host entry points and the
// bundles the CLI ships, and that the enclave's side does block (so the
// search would find a blocking wait if one crept into the host's code).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { reachable } from '../helpers/import-graph.js';

const BLOCKING = /Atomics\.wait\s*\(/;
const dist = (rel: string): string => path.join(ROOT, 'dist', rel);

function blockingIn(modules: Map<string, string>): string[] {
  return [...modules].filter(([, text]) => BLOCKING.test(text)).map(([file]) => path.relative(ROOT, file));
}

describe('the host thread never blocks', () => {
  for (const entry of ['src/api/index.js', 'src/cli/entry.js']) {
    it(`nothing ${entry} loads calls Atomics.wait`, () => {
      const modules = reachable(dist(entry));
      assert.ok([...modules.keys()].some((f) => f.endsWith(path.join('layer', 'ring.js'))),
        `the import graph was followed as far as the rings (${modules.size} modules)`);
      assert.deepEqual(blockingIn(modules), []);
      assert.ok(![...modules.keys()].some((f) => f.endsWith('ring-wait.js')), 'ring-wait.js is for enclave threads only');
    });
  }

  it('the bundles the host thread loads have no Atomics.wait; the enclave bundle has', () => {
    for (const host of ['capsule.cjs', 'boot.cjs']) {
      assert.doesNotMatch(fs.readFileSync(dist(`bundle/${host}`), 'utf8'), BLOCKING, host);
    }
    assert.match(fs.readFileSync(dist('bundle/worker.cjs'), 'utf8'), BLOCKING);
  });

  it("the enclave's own graph does block (the search finds what it looks for)", () => {
    const found = blockingIn(reachable(dist('src/enclave/worker.js')));
    for (const f of ['layer/ring-wait.js', 'enclave/layer-client.js', 'enclave/worker.js']) {
      assert.ok(found.some((x) => x.endsWith(f)), `${f} blocks: ${found.join(', ')}`);
    }
  });
});

// A run lets go of everything it made once it has resolved: nothing of it
// stays reachable from the host process (a wait left pending on one of its
// rings once held the whole run, its stdin stream among it, for good). Checked
// with a weak reference to the run's stdin stream and a forced collection.

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { run, type RunOptions } from '../../src/api/index.js';
import { guest } from '../helpers/cli.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Runs `name` with a stdin stream made here, and returns a weak reference to that stream once the run resolved. */
async function weakStdin(name: string, o: RunOptions): Promise<WeakRef<Readable>> {
  const stdin = Readable.from([Buffer.from('some input\n')]);
  const r = await run(guest(name), { ...o, stdin, stdout: 'capture', stderr: 'capture' });
  assert.equal(r.exitCode, 0, r.stderr?.toString());
  return new WeakRef(stdin);
}

/** Collects garbage a few times (a deref() keeps its target for the rest of the job, so none comes before). */
async function collect(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a run lets go of what it made', () => {
  for (const [name, reads] of [['hello', 'that does not read its stdin'], ['cat', 'that reads its stdin']] as const) {
    for (const freshThread of [false, true]) {
      it(`a guest ${reads}, on a ${freshThread ? 'fresh' : 'reused'} thread: its stdin stream is collectable once the run resolved`, async () => {
        const refs = [];
        for (let i = 0; i < 3; i++) refs.push(await weakStdin(name, { freshThread }));
        await collect();
        assert.deepEqual(refs.map((ref) => ref.deref() === undefined), [true, true, true], 'the stdin stream of a finished run is still reachable');
      });
    }
  }
});

// Guest threads (wasi-threads spawn and the WASIX thread and futex calls),
// through the CLI with a program of the WASIX toolchain: pthreads, mutexes,
// condition variables and joins work; futex waits time out; --max-threads is
// enforced (EAGAIN, audited); a stop, a trap or an exit in any thread ends
// the whole guest; hostile arguments get errnos, never a host failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ExitCode } from '../../src/core/exit-codes.js';
import { run } from '../../src/api/index.js';
import { CLI, MODES, ROOT, runCli, tempDir } from '../helpers/cli.js';

const THREADS = path.join(ROOT, 'test', 'guests', 'wasix', 'threads.wasm');

/** key=value pairs of a line the guest printed. */
function fields(line: string): Record<string, string> {
  return Object.fromEntries(line.trim().split(/\s+/).map((kv) => kv.split('=') as [string, string]));
}

for (const mode of MODES) {
  describe(`guest threads (${mode} mode)`, () => {
    it('pthread_create, a mutex, a condition variable and pthread_join work across threads', async () => {
      const r = await runCli(['run', '--mode', mode, THREADS, 'basic']);
      assert.equal(r.code, 0, r.stderr);
      // 4 workers add 1..4 a thousand times each under the mutex: no update is lost.
      assert.match(r.stdout, /^counter=10000 finished=4 main=1 distinct=1 parallelism>=1:1$/m);
    });
  });
}

describe('guest threads: WASIX thread_spawn_v2', () => {
  for (const mode of MODES) {
    it(`starts wasi_thread_start(tid, start) with the id it returned; futex_wait and futex_wake pair up (${mode} mode)`, async () => {
      const r = await runCli(['run', '--mode', mode, path.join(ROOT, 'test', 'guests', 'thread_spawn_v2.wasm')]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'v2 ok\n');
    });
  }
});

describe('guest threads: futexes', () => {
  it('a timed condition wait and a futex_wait with a timeout end when the time is up, not woken', async () => {
    const r = await runCli(['run', THREADS, 'futex']);
    assert.equal(r.code, 0, r.stderr);
    const f = fields(r.stdout);
    assert.equal(f['cond'], 'ETIMEDOUT');
    assert.equal(f['waited>=140:1'], undefined, r.stdout);
    assert.equal(f['futex'], '0');
    assert.equal(f['woken'], '0', 'a wait that timed out reports not woken');
    assert.match(r.stdout, /waited>=90:1/);
    assert.equal(f['mismatch'], '0');
    assert.equal(f['mismatch-woken'], '1', 'a word that differs returns at once');
    assert.equal(f['nobody-woken'], '1');
  });
});

describe('guest threads: --max-threads', () => {
  it('by default 8 threads run at once (main and 7 more); the next pthread_create gets EAGAIN', async () => {
    const r = await runCli(['run', THREADS, 'exhaust']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^started=7 error=EAGAIN$/m);
    assert.match(r.stdout, /^after join: ok$/m, 'threads that ended make room again');
  });

  it('--max-threads 3 lets two threads start; the refusal is audited as a limit', async () => {
    const dir = tempDir();
    try {
      const audit = path.join(dir.path, 'audit.jsonl');
      const r = await runCli(['run', '--max-threads', '3', '--audit', audit, THREADS, 'exhaust']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^started=2 error=EAGAIN$/m);
      const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
      const limit = records.find((x) => x['op'] === 'thread-spawn' && x['decision'] === 'limit');
      assert.ok(limit, `no thread-spawn limit record in ${JSON.stringify(records)}`);
      assert.match(limit['reason']!, /--max-threads/);
      assert.equal(limit['errno'], 'AGAIN');
    } finally {
      dir.cleanup();
    }
  });

  it('the API takes the limit as limits.maxThreads', async () => {
    const r = await run(THREADS, { args: ['exhaust'], limits: { maxThreads: 2 }, stdout: 'capture', stderr: 'capture' });
    assert.equal(r.exitCode, 0, r.stderr?.toString());
    assert.match(r.stdout!.toString(), /^started=1 error=EAGAIN$/m);
    assert.equal(r.audit.limit >= 1, true);
  });

  it('--max-threads 1 allows the main thread only', async () => {
    const r = await runCli(['run', '--max-threads', '1', THREADS, 'exhaust']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^started=0 error=EAGAIN$/m);
  });

  it('a bad --max-threads is refused with one line naming the flag', async () => {
    for (const bad of ['0', '1025', 'many']) {
      const r = await runCli(['run', '--max-threads', bad, THREADS, 'basic']);
      assert.equal(r.code, ExitCode.USAGE, r.stderr);
      assert.match(r.stderr, /--max-threads/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('200 threads started and joined one after another all run (ended threads leave no trace)', async () => {
    const r = await runCli(['run', '--max-threads', '2', THREADS, 'churn'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^churn ok=200$/m);
  });
});

describe('guest threads: the guest ends as a whole', () => {
  for (const what of ['block', 'spin'] as const) {
    it(`--timeout stops a guest whose thread is ${what === 'block' ? 'blocked in a futex' : 'spinning'} and whose main thread joins it`, async () => {
      const r = await runCli(['run', '--timeout', '3s', THREADS, what]);
      assert.equal(r.code, ExitCode.TIMEOUT, r.stderr);
      assert.match(r.stdout, what === 'block' ? /^blocking$/m : /^spinning$/m, 'output before the stop is delivered');
      assert.match(r.stderr, /wall-time limit/);
    });

    it(`SIGTERM stops a guest whose thread is ${what === 'block' ? 'blocked' : 'spinning'}`, async () => {
      const child = spawn(process.execPath, [CLI, 'run', THREADS, what], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ing\n')) resolve();
      }));
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      assert.equal(code, 128 + 15, err);
      assert.match(err, /terminated by SIGTERM/);
    });
  }

  it('a trap in a secondary thread ends the whole guest as a trap', async () => {
    const r = await runCli(['run', THREADS, 'trap']);
    assert.equal(r.code, ExitCode.TRAP, r.stderr);
    assert.match(r.stderr, /unreachable/);
    assert.doesNotMatch(r.stdout, /joined/);
  });

  it('exit() in a secondary thread ends the guest with that status', async () => {
    const r = await runCli(['run', THREADS, 'exit']);
    assert.equal(r.code, 7, r.stderr);
    assert.doesNotMatch(r.stdout, /joined/);
  });

  it('a main thread that leaves with pthread_exit lets the others finish; the last ends the process', async () => {
    const r = await runCli(['run', THREADS, 'detach']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'last thread\n');
  });
});

describe('guest threads: hostile arguments', () => {
  it('impossible pointers, unaligned futexes and self-joins get errnos', async () => {
    const r = await runCli(['run', THREADS, 'hostile']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fields(r.stdout), {
      spawn_end: '21', spawn_tid: '21', // EFAULT: the start struct or the id's place outside memory
      unaligned: '28', // EINVAL
      outside: '21', bad_timeout: '21', bad_woken: '21', id_outside: '21',
      join_self: '16', // EDEADLK
      join_unknown: '0', sleep_zero: '0',
    });
  });

  it('closing a listening socket while another thread blocks in accept on it (class 5): the accept fails, the guest goes on', async () => {
    const r = await runCli(['run', '--timeout', '20s', THREADS, 'closerace']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'close=0 accept=failed\n');
  });

  it('a thread whose start argument points outside memory traps, and the guest ends with it', async () => {
    const r = await runCli(['run', THREADS, 'garbage']);
    assert.equal(r.code, ExitCode.TRAP, r.stderr);
    assert.match(r.stderr, /out-of-bounds memory access/);
  });
});

describe('a real pthreads program: the example of C-Thread-Pool (MIT, unmodified, WASIX toolchain)', () => {
  const EXAMPLE = path.join(ROOT, 'test', 'guests', 'wasix', 'thpool', 'example.wasm');

  for (const mode of MODES) {
    it(`a pool of 4 threads runs 40 tasks, each exactly once, and is destroyed (${mode} mode)`, async () => {
      const r = await runCli(['run', '--mode', mode, EXAMPLE]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.split('\n');
      assert.equal(out[0], 'Making threadpool with 4 threads');
      assert.equal(out[1], 'Adding 40 tasks to threadpool');
      const done = out.map((l) => /^Thread #\d+ working on (\d+)$/.exec(l)?.[1]).filter((n) => n !== undefined).map(Number);
      assert.deepEqual(done.sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
      assert.equal(out.at(-2), 'Killing threadpool');
    });
  }

  it('with --max-threads 3 the pool cannot get its 4 threads; it waits for them spinning, and --timeout stops it', async () => {
    // thpool_init ignores a failed pthread_create and spins until all its threads are alive.
    const r = await runCli(['run', '--max-threads', '3', '--timeout', '1s', EXAMPLE]);
    assert.equal(r.code, ExitCode.TIMEOUT, r.stderr);
    assert.match(r.stdout, /^Making threadpool with 4 threads$/m);
  });
});

// Hostile guests, group 7: every stop stops. Output floods (alternating
// stdout/stderr bytes, short lines, large writes) and blocking calls, ended by
// the time limit, an AbortSignal, Ctrl-C and SIGTERM: the guest ends, output
// already written is delivered, the host thread's event loop keeps running
// throughout, and no descriptor is left behind. Also: tables cannot make the
// host hold more than their cap, and the result says who chose exit code 70.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { run } from '../../src/api/run.js';
import { CLI, ROOT, guest, runCli, tempDir } from '../helpers/cli.js';
import { MiB, assertRecord, checkedRun, fdsBackTo, feedableStdin, hostileGuest, rss, stableFds, warmUp } from '../helpers/hostile.js';

/** Longest the host's event loop went without running a 10 ms interval, while `fn` runs. */
async function worstLag<T>(fn: () => Promise<T>): Promise<{ value: T; lagMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  try {
    return { value: await fn(), lagMs: worst };
  } finally {
    clearInterval(timer);
  }
}

/** A sink that accepts everything asynchronously, as a pipe to a fast reader does. */
function counting(): { stream: Writable; bytes(): number } {
  let n = 0;
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { n += chunk.byteLength; setImmediate(done); } });
  return { stream, bytes: () => n };
}

const FLOODS = ['interleave', 'lines', 'big'] as const;
const BLOCKED = ['stdin_block', 'sleep_block'] as const;

describe('hostile guests: every stop stops (group 7)', () => {
  for (const attack of FLOODS) {
    for (const maxOutput of [0, 64 * 1024, 256 * 1024]) {
      const limit = maxOutput === 0 ? 'no output limit' : `--max-output ${maxOutput / 1024}k`;
      it(`${attack}, ${limit}: the time limit stops it (or the output limit), the event loop never stalls`, { timeout: 30_000 }, async () => {
        await warmUp();
        const before = await stableFds();
        const out = counting();
        const err = counting();
        const started = performance.now();
        const { value: r, lagMs } = await worstLag(() => run(hostileGuest('hostile_output'), {
          args: [attack], timeoutMs: 700, stdout: out.stream, stderr: err.stream, stdin: 'never read',
          ...(maxOutput ? { limits: { outputBytes: maxOutput } } : {}),
        }));
        const took = performance.now() - started;
        assert.equal(r.outcome.kind, 'limit', JSON.stringify(r.outcome));
        const stoppedBy = (r.outcome as { limit: string }).limit;
        // A small output limit may be passed twice over before the time limit: either stop is right.
        assert.ok(stoppedBy === 'time' || (maxOutput > 0 && stoppedBy === 'output'), stoppedBy);
        assert.equal(r.exitCode, stoppedBy === 'time' ? 102 : 104);
        assert.equal(r.exitCodeFrom, 'capsule');
        // Liveness, not speed: a starved event loop showed up as many seconds here.
        assert.ok(took < 700 + 2500, `run() took ${took.toFixed(0)} ms for a 700 ms limit`);
        assert.ok(lagMs < 1000, `the event loop stalled for ${lagMs.toFixed(0)} ms`);
        // Output already written was delivered: the head at least, and never more than the limit allows.
        assert.ok(out.bytes() > 0, 'no stdout delivered');
        if (maxOutput > 0) assert.ok(out.bytes() + err.bytes() <= maxOutput + 200, `${out.bytes() + err.bytes()} bytes delivered`);
        assert.equal(await fdsBackTo(before), before, 'descriptors of the test process');
      });
    }
  }

  for (const attack of BLOCKED) {
    it(`${attack}: an AbortSignal stops a guest blocked in its call (exit 130, outcome "killed")`, { timeout: 30_000 }, async () => {
      await warmUp();
      const before = await stableFds();
      const controller = new AbortController();
      let stderr = '';
      // Aborted once the guest has said it started (and is about to block), however slow its start.
      const err = new Writable({
        write(chunk: Buffer, _enc, done) {
          stderr += chunk.toString();
          if (stderr.includes('started')) setTimeout(() => controller.abort(), 200);
          done();
        },
      });
      const stdin = feedableStdin();
      const r = await run(hostileGuest('hostile_output'), { args: [attack], signal: controller.signal, stdin: stdin.stream, stdout: 'capture', stderr: err });
      assert.deepEqual(r.outcome, { kind: 'killed', message: 'interrupted' });
      assert.equal(r.exitCode, 130);
      assert.equal(stderr, `${attack}: started\n`);
      assert.ok(!(r.stdout?.toString() ?? '').includes('unexpected'));
      assert.equal(await fdsBackTo(before), before, 'descriptors of the test process');
    });
  }

  it('an AbortSignal stops an output flood that never blocks (exit 130), its output delivered', { timeout: 30_000 }, async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const out = counting();
    const { value: r, lagMs } = await worstLag(() => run(hostileGuest('hostile_output'), {
      args: ['interleave'], signal: controller.signal, stdout: out.stream, stderr: 'capture',
    }));
    assert.equal(r.outcome.kind, 'killed');
    assert.equal(r.exitCode, 130);
    assert.ok(out.bytes() > 0);
    assert.match(r.stderr?.toString() ?? '', /^interleave: started\nb+$/);
    assert.ok(lagMs < 1000, `the event loop stalled for ${lagMs.toFixed(0)} ms`);
  });

  describe('host signals through the CLI', () => {
    const cases: [NodeJS.Signals, number][] = [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]];
    for (const [signal, code] of cases) {
      for (const attack of ['interleave', 'sleep_block'] as const) {
        it(`${signal} during ${attack}: exit ${code}, one line naming the stop, output already written delivered`, { timeout: 30_000 }, async () => {
          const dir = tempDir('capsule-stop-');
          const audit = path.join(dir.path, 'audit.jsonl');
          try {
            const child = spawn(process.execPath, [CLI, 'run', '--audit', audit, hostileGuest('hostile_output'), attack], {
              cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'],
            });
            let stdout = 0;
            let stderr = '';
            child.stdout.on('data', (b: Buffer) => { stdout += b.byteLength; });
            child.stderr.on('data', (b: Buffer) => { stderr += b.toString('latin1'); if (stderr.length > 1 << 20) stderr = stderr.slice(-4096); });
            // Signal once the guest is running (it says so on stderr first).
            await new Promise<void>((resolve) => {
              const check = (): void => { if (stderr.includes(`${attack}: started`)) { child.stderr.off('data', check); resolve(); } };
              child.stderr.on('data', check);
            });
            await new Promise((r) => setTimeout(r, 200));
            const sent = performance.now();
            child.kill(signal);
            const [exitCode, exitSignal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
            const took = performance.now() - sent;
            assert.equal(exitSignal, null, 'the process died of the signal instead of handling it');
            assert.equal(exitCode, code);
            assert.ok(took < 5000, `exit came ${took.toFixed(0)} ms after ${signal}`);
            const said = signal === 'SIGINT' ? 'interrupted' : `terminated by ${signal}`;
            assert.match(stderr, new RegExp(`capsule: .*hostile_output\\.wasm stopped: ${said}\\n$`));
            if (attack === 'interleave') assert.ok(stdout > 0, 'no stdout delivered');
            const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op: string; detail?: { exitCode?: number } });
            assert.equal(records.at(-1)?.op, 'exit', 'the audit log ends with the exit record');
            assert.equal(records.at(-1)?.detail?.exitCode, code);
          } finally {
            dir.cleanup();
          }
        });
      }
    }
  });

  describe('tables', () => {
    it('four tables grown by 9,999,999 elements each: every huge grow fails, a modest one succeeds, the host stays small', { timeout: 30_000 }, async () => {
      const start = rss();
      const r = await checkedRun('table_grow', { limits: { memoryBytes: 16 * MiB } });
      const growth = rss() - start;
      // Exit status 0: no huge grow succeeded (bits 0-3) and the modest grow did (bit 4).
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 });
      assert.ok(growth < 64 * MiB, `host RSS grew by ${(growth / MiB).toFixed(0)} MiB (uncapped: about 950 MiB)`);
    });

    it('a module whose tables need more than the cap at start does not start (exit 103, one line)', { timeout: 30_000 }, async () => {
      const r = await runCli(['run', hostileGuest('huge_table')]);
      assert.equal(r.code, 103);
      assert.match(r.stderr, /^capsule: '.*huge_table\.wasm' needs 300000 table elements at start, over the limit of 262144 per guest\n$/);
      await assert.rejects(run(hostileGuest('huge_table'), { stdout: 'ignore' }),
        (err: unknown) => err instanceof CapsuleError && err.exitCode === 103);
    });

    it('a precompiled WebAssembly.Module cannot be capped, so secure mode refuses it; normal mode runs it', { timeout: 30_000 }, async () => {
      const module = await WebAssembly.compile(fs.readFileSync(guest('hello')));
      await assert.rejects(run(module, { stdout: 'ignore' }),
        (err: unknown) => err instanceof CapsuleError && /precompiled WebAssembly\.Module cannot be held/.test(err.message));
      const r = await run(module, { mode: 'normal', stdout: 'capture' });
      assert.equal(r.exitCode, 0);
      assert.match(r.stdout?.toString() ?? '', /hello/i);
    });
  });

  describe('exit code 70', () => {
    it("the guest's own 70 is the guest's; the result, the report and the audit say so", { timeout: 30_000 }, async () => {
      const dir = tempDir('capsule-70-');
      const report = path.join(dir.path, 'report.json');
      try {
        const r = await runCli(['run', '--report', report, guest('exit_code'), '70']);
        assert.equal(r.code, 70);
        const rep = JSON.parse(fs.readFileSync(report, 'utf8')) as { exitCode: number; exitCodeFrom: string; outcome: { kind: string } };
        assert.deepEqual([rep.exitCode, rep.exitCodeFrom, rep.outcome.kind], [70, 'guest', 'exit']);
        const records: { op: string; detail?: { exitCodeFrom?: string } }[] = [];
        const api = await run(guest('exit_code'), { args: ['70'], onAudit: (rec) => { records.push(rec as never); } });
        assert.deepEqual([api.exitCode, api.exitCodeFrom], [70, 'guest']);
        assert.equal(records.find((rec) => rec.op === 'exit')?.detail?.exitCodeFrom, 'guest');
        assertRecord(records as never, { op: 'exit', reason: 'exited with 70' }, 'the exit');
      } finally {
        dir.cleanup();
      }
    });
  });
});

// Hostile guests, group 4: exhausting memory, time, descriptors, sockets, queues, output, per-call host
// allocations, tmpfs, the audit log and the stack: an errno, or a stop that names the limit.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { run } from '../../src/api/run.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { guest, runCli } from '../helpers/cli.js';
import { watchedOutput } from '../helpers/net.js';
import {
  MiB, assertRecord, checkedRun, eventCount, feedableStdin, fsFixture, hostileGuest, recordsOf, peakRssGrowth, rss, runHostile,
  sharedLayer, warmUp, type FsFixture, type HostileRun,
} from '../helpers/hostile.js';

function assertStoppedBy(r: HostileRun, limit: 'time' | 'memory' | 'output', exitCode: number): void {
  assert.equal(r.result.outcome.kind, 'limit', `${JSON.stringify(r.result.outcome)}\n${r.stdout.slice(0, 300)}${r.stderr.slice(0, 300)}`);
  assert.equal((r.result.outcome as { limit: string }).limit, limit);
  assert.equal(r.result.exitCode, exitCode);
}

const noStack = (text: string): void => assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m);

describe('hostile guests: exhaustion (group 4)', () => {
  let fx: FsFixture;
  before(async () => {
    fx = fsFixture('capsule-hostile-ex-');
    await warmUp();
  });
  after(() => fx.cleanup());

  describe('memory', () => {
    it('a module whose initial memory exceeds --memory does not start: exit 103 and one clear line', { timeout: 30_000 }, async () => {
      const r = await runCli(['run', '--memory', '16MiB', hostileGuest('huge_memory')]);
      assert.equal(r.code, 103);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^capsule: '.*huge_memory\.wasm' needs 32 MiB of memory at start, over its limit of 16 MiB \(--memory\)\n$/);
      // Through the API: refused before any enclave exists, with a limit record.
      const { audit, layer } = sharedLayer();
      await assert.rejects(run(hostileGuest('huge_memory'), { layer, limits: { memoryBytes: 16 * MiB }, stdout: 'capture' }),
        (err: unknown) => err instanceof CapsuleError && err.exitCode === 103);
      layer.close();
      assertRecord(audit, { op: 'start', decision: 'limit', reason: /needs 32 MiB of memory at start/ }, 'the refused start');
    });

    it('a 64-bit memory (which the cap does not rewrite) cannot grow past --memory', { timeout: 30_000 }, async () => {
      const r = await runCli(['run', '--memory', '16MiB', hostileGuest('memory64')]);
      assert.ok(!r.stdout.includes('GREW'), r.stdout);
      assert.ok(r.code === 65 || r.code === 103, `exit ${r.code}: ${r.stderr}`);
      noStack(r.stderr);
    });

    it('malloc in a loop: the guest sees NULL at the limit and carries on', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['malloc'], limits: { memoryBytes: 32 * MiB } });
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 });
      const m = /^NULL after (\d+) MiB \(memory (\d+) MiB\)$/.exec(r.verdicts.get('malloc') ?? '');
      assert.ok(m, r.stdout);
      assert.ok(Number(m[1]) >= 24 && Number(m[2]) <= 32, r.stdout);
      assert.ok(r.result.usage.peakMemory <= 32 * MiB);
    });

    it('memory.grow in a loop: -1 at the limit, never a page past it', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['grow'], limits: { memoryBytes: 8 * MiB } });
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 });
      assert.match(r.verdicts.get('grow') ?? '', /^failed after \d+ pages \(memory 128 pages\)$/);
      assert.equal(r.verdicts.get('grow_huge'), '-1');
    });

    it('growing to the limit and then trapping: the result names the memory limit (exit 103)', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['grow', 'trap'], limits: { memoryBytes: 8 * MiB } });
      assertStoppedBy(r, 'memory', 103);
      assert.match(r.result.outcome.kind === 'limit' ? r.result.outcome.message : '', /memory limit of 8 MiB reached/);
      assertRecord(r.audit, { op: 'memory', decision: 'limit', reason: /memory limit of 8 MiB/ }, 'the memory limit');
    });

    it('malloc of 1 MiB blocks until NULL, then abort(): the result names the memory limit (exit 103)', {
      timeout: 30_000,
    }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['malloc', 'trap'], limits: { memoryBytes: 32 * MiB } });
      assert.match(r.verdicts.get('malloc') ?? '', /^NULL after \d+ MiB/);
      assertStoppedBy(r, 'memory', 103);
    });
  });

  describe('time', () => {
    const blocked: [string, string, string[], string?][] = [
      ['a tight loop that makes no call (C)', 'hostile_exhaust', ['spin'], 'spin: spinning'],
      ['a tight loop that makes no call (WebAssembly text, no imports at all)', 'spin', []],
      ['poll_oneoff with a zero timeout, forever', 'hostile_net', ['poll_spin'], 'poll_spin: spinning'],
      ['blocked forever in accept', 'hostile_net', ['accept_block', '7100'], 'accept_block: listening'],
      ['blocked forever in recv', 'hostile_net', ['recv_block', '7101'], 'recv_block: blocked'],
      ['blocked forever in poll_oneoff (no timeout)', 'hostile_net', ['poll_block', '7102'], 'poll_block: polling'],
    ];
    for (const [title, module, args, line] of blocked) {
      it(`${title}: stopped by the time limit (exit 102, outcome.limit "time")`, { timeout: 30_000 }, async () => {
        const started = Date.now();
        const r = await checkedRun(module, { args, timeoutMs: 1000 });
        const took = Date.now() - started;
        assertStoppedBy(r, 'time', 102);
        assert.ok(took >= 1000 && took < 6000, `took ${took} ms`);
        if (line) assert.ok(r.stdout.includes(line), r.stdout);
        assert.ok(!r.stdout.includes('unexpected'), r.stdout);
        assertRecord(r.audit, { op: 'time', decision: 'limit', reason: /wall-time limit of 1000 ms reached/ }, 'the time limit');
      });
    }

    it('through the CLI: exit 102, a one-line message, the report and the audit log name the limit', { timeout: 30_000 }, async () => {
      const report = path.join(fx.root, 'report.json');
      const audit = path.join(fx.root, 'audit.jsonl');
      try {
        const r = await runCli(['run', '--timeout', '1s', '--report', report, '--audit', audit, hostileGuest('spin')]);
        assert.equal(r.code, 102);
        assert.match(r.stderr, /^capsule: .*spin\.wasm stopped: wall-time limit of 1000 ms reached\n$/);
        const rep = JSON.parse(fs.readFileSync(report, 'utf8')) as { exitCode: number; outcome: { kind: string; limit: string } };
        assert.equal(rep.exitCode, 102);
        assert.deepEqual([rep.outcome.kind, rep.outcome.limit], ['limit', 'time']);
        const records = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
        assertRecord(records, { op: 'time', decision: 'limit', reason: /wall-time limit of 1000 ms/ }, 'the time limit');
      } finally {
        fs.rmSync(report, { force: true });
        fs.rmSync(audit, { force: true });
      }
    });

    it('a spinning guest does not stall another guest on the same layer', { timeout: 30_000 }, async () => {
      const { layer } = sharedLayer();
      try {
        layer.addGuest('spinner');
        layer.addGuest('bystander');
        const spinner = runHostile('spin', { layer, name: 'spinner', timeoutMs: 3000 });
        const started = Date.now();
        const bystander = await runHostile('hostile_net', { layer, name: 'bystander', args: ['bystander', '2000'], timeoutMs: 20_000 });
        const took = Date.now() - started;
        assert.equal(bystander.verdicts.get('bystander'), 'ok 2000');
        assert.equal(bystander.result.exitCode, 0);
        assert.ok(took < 3000, `the bystander took ${took} ms: it waited for the spinner`);
        assertStoppedBy(await spinner, 'time', 102);
        assert.equal(layer.sockets().length, 0);
      } finally {
        layer.close();
      }
    });
  });

  describe('descriptors and sockets', () => {
    it('opening files until EMFILE: the limit is a "limit" audit record, and closing one frees a slot', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['fds'], dirs: [{ host: fx.data, guest: '/data' }], limits: { maxFds: 32 } });
      // 0-2 are stdio and 3 the mount: 28 more fit.
      assert.equal(r.verdicts.get('fds'), 'EMFILE after 28');
      assert.equal(r.verdicts.get('fds_after_close'), 'OK');
      const d = assertRecord(r.audit, { op: 'path_open', decision: 'limit', target: 'descriptors' }, 'the descriptor limit');
      assert.equal(d.errno, 'MFILE');
      assert.match(d.reason, /descriptor limit of 32 reached \(--max-fds\)/);
    });

    it('sock_open until ENFILE past --max-sockets: a "limit" audit record, and closing one frees a slot', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_net', { args: ['sockets'], limits: { maxSockets: 8 } });
      assert.equal(r.verdicts.get('sockets'), 'ENFILE after 8');
      assert.equal(r.verdicts.get('sockets_after_close'), 'OK');
      const d = assertRecord(r.audit, { op: 'sock_open', decision: 'limit' }, 'the socket limit');
      assert.equal(d.errno, 'NFILE');
      assert.match(d.reason, /socket limit of 8 reached \(--max-sockets\)/);
    });
  });

  describe('sockets against the descriptor limit', () => {
    let r: HostileRun | undefined;
    it('sock_open until EMFILE past --max-fds (before --max-sockets): refused, and closing one frees a slot', { timeout: 30_000 }, async () => {
      r = await checkedRun('hostile_net', { args: ['sockets'], limits: { maxFds: 8, maxSockets: 64 } });
      // 0-2 are stdio: five sockets fit in eight descriptors.
      assert.equal(r.verdicts.get('sockets'), 'EMFILE after 5');
      assert.equal(r.verdicts.get('sockets_after_close'), 'OK');
    });

    it('sock_open refused by --max-fds is a "limit" audit record, as path_open\'s is', {
    }, () => {
      assert.ok(r, 'the attack did not run');
      const d = assertRecord(r.audit, { decision: 'limit', target: 'descriptors' }, 'the descriptor limit');
      assert.equal(d.errno, 'MFILE');
    });
  });

  describe('queues', () => {
    it('a stream nobody reads: non-blocking sends get EAGAIN once the queue is full, not more host memory', { timeout: 30_000 }, async () => {
      const { value: r, growth } = await peakRssGrowth(() => checkedRun('hostile_net', { args: ['queue', '7200', '4096'], limits: { queueBytes: 64 * 1024 } }));
      // 4096 sends of 64 KiB (256 MiB) were tried; one queue of 64 KiB was taken.
      assert.equal(r.verdicts.get('queue'), 'sent=65536 eagain=4095 other=0 (OK)');
      assert.equal(r.verdicts.get('queue_blocking'), 'EAGAIN');
      assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
    });

    it('a host server that never reads: the bridge stops taking data (EAGAIN), host memory stays flat', { timeout: 60_000 }, async () => {
      const held: net.Socket[] = [];
      const server = net.createServer({ pauseOnConnect: true }, (s) => { held.push(s); s.on('error', () => {}); });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const watch = watchedOutput();
        const stdin = feedableStdin();
        const { value: r, growth } = await peakRssGrowth(async () => {
          const pending = runHostile('hostile_net', {
            args: ['queue_host', 'host.capsule.internal', String(port), '4096'], network: { allowConnect: [`127.0.0.1:${port}`] },
            watch, stdin: stdin.stream, timeoutMs: 45_000,
          });
          await watch.waitFor('queue_host: holding', 40_000);
          stdin.send('\n');
          stdin.end();
          return pending;
        });
        const sent = [...r.stdout.matchAll(/sent=(\d+) eagain=(\d+) other=0/g)].map((m) => Number(m[1]));
        assert.equal(sent.length, 2, r.stdout);
        // 512 MiB were offered; the queue (1 MiB), the bridge's chunk and the kernel's socket buffers took the rest.
        assert.ok(sent[0]! + sent[1]! < 16 * MiB, r.stdout);
        assert.ok(sent[0]! >= 1 * MiB, r.stdout);
        assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
        assert.equal(r.socketsLeft, 0);
      } finally {
        for (const s of held) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('connections left waiting in its own backlog, each with a full queue, count against the guest\'s limits', {
      timeout: 60_000,
    }, async () => {
      const watch = watchedOutput();
      const stdin = feedableStdin();
      const { value: r, growth } = await peakRssGrowth(async () => {
        const pending = runHostile('hostile_net', { args: ['backlog_flood', '7300', '300'], limits: { maxSockets: 16 }, watch, stdin: stdin.stream, timeoutMs: 45_000 });
        await watch.waitFor('backlog_flood:', 40_000);
        const during = rss();
        stdin.send('\n');
        stdin.end();
        return { run: await pending, during };
      });
      const m = /^connections=(\d+) bytes=(\d+) stop=(\w+)$/.exec(r.run.verdicts.get('backlog_flood') ?? '');
      assert.ok(m, r.run.stdout);
      assert.ok(Number(m[1]) <= 16, `${m[1]} connections left waiting with a socket limit of 16`);
      assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
    });
  });

  describe('output', () => {
    const marker = /\n\[capsule: output limit of 65536 bytes reached: (\d+) bytes cut here\]\n/;

    it('more than twice --max-output: stopped (exit 104), head and tail kept with a marker between', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['output', '20000000'], limits: { outputBytes: 65536 } });
      assertStoppedBy(r, 'output', 104);
      assert.ok(r.stdout.startsWith('HEAD\n'));
      const m = marker.exec(r.stdout);
      assert.ok(m, r.stdout.slice(0, 200));
      assert.ok(Buffer.byteLength(r.stdout) <= 65536 + m[0].length);
      assert.ok(r.result.outputCut > 0);
      assertRecord(r.audit, { op: 'fd_write', target: 'output', decision: 'limit', reason: /--max-output/ }, 'the output limit');
      // The CLI gives the documented code and one line.
      const c = await runCli(['run', '--max-output', '64KiB', hostileGuest('hostile_exhaust'), 'output', '20000000']);
      assert.equal(c.code, 104);
      assert.match(c.stderr, /stopped: output limit reached: more than twice the 65536 bytes allowed were written\n$/);
      assert.match(c.stdout, marker);
    });

    it('fifteen times --max-output, written faster than the host drains it, still ends with exit 104', {
      timeout: 30_000,
    }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['output', '1000000'], limits: { outputBytes: 65536 } });
      assert.ok(marker.test(r.stdout));
      assertStoppedBy(r, 'output', 104);
    });

    it('between once and twice the limit: cut in the middle with a marker, not stopped', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['output', '100000'], limits: { outputBytes: 65536 } });
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 });
      const m = marker.exec(r.stdout);
      assert.ok(m);
      assert.equal(Number(m[1]), 100000 - 65536);
      assert.equal(r.result.outputCut, 100000 - 65536);
      assert.ok(r.stdout.startsWith('HEAD\n') && r.stdout.endsWith('TAIL\n'));
      assert.equal(Buffer.byteLength(r.stdout), 65536 + m[0].length);
    });

    it('exactly the limit: nothing is cut', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['output', '65536'], limits: { outputBytes: 65536 } });
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 });
      assert.equal(r.result.outputCut, 0);
      assert.equal(Buffer.byteLength(r.stdout), 65536);
      assert.ok(r.stdout.startsWith('HEAD\n') && r.stdout.endsWith('TAIL\n'));
      assert.ok(!r.stdout.includes('[capsule:'));
    });
  });

  describe('per-call host allocations, the in-memory mount, the audit log, the stack', () => {
    it('--max-call-bytes: a 10 MiB path (ENAMETOOLONG before any decoding), huge poll and iovec counts, a huge name: ENOMEM or EFAULT, audited, no host crash', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', {
        args: ['callbytes'], dirs: [{ host: fx.data, guest: '/data' }], limits: { callBytes: MiB, memoryBytes: 64 * MiB },
      });
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 }, r.stdout + r.stderr);
      assert.deepEqual(Object.fromEntries(r.verdicts), {
        callbytes_path_open: 'ENAMETOOLONG', callbytes_path_huge: 'EFAULT', callbytes_poll_nsubs: 'ENOMEM', callbytes_poll_max: 'ENOMEM',
        callbytes_iovec_wrap: r.verdicts.get('callbytes_iovec_wrap') === 'ENOMEM' ? 'ENOMEM' : 'EFAULT',
        callbytes_iovec_many: 'ENOMEM', callbytes_resolve: 'ENOMEM', callbytes_after: 'OK',
      });
      assert.ok(!r.stdout.includes('LEAK'));
      const limits = recordsOf(r.audit, 'limit').filter((x) => x.target === 'call bytes');
      assert.ok(limits.length >= 4, JSON.stringify(limits));
      for (const l of limits) {
        assert.equal(l.errno, 'NOMEM');
        assert.match(l.reason, /over the per-call limit of 1048576 \(--max-call-bytes\)/);
      }
      assert.deepEqual([...new Set(limits.map((l) => l.op))].sort(), ['fd_write', 'poll_oneoff', 'resolve']);
    });

    it('filling an in-memory mount: ENOSPC at its size, for data and for many small files', { timeout: 30_000 }, async () => {
      const { value: r, growth } = await peakRssGrowth(() => checkedRun('hostile_exhaust', { args: ['tmpfs'], tmpfs: { '/t': MiB } }));
      const m = /^ENOSPC after (\d+) bytes$/.exec(r.verdicts.get('tmpfs') ?? '');
      assert.ok(m, r.stdout);
      assert.ok(Number(m[1]) <= MiB);
      assert.equal(r.verdicts.get('tmpfs_files'), 'ENOSPC');
      assert.ok(growth < 64 * MiB);
    });

    it('20000 refused calls: the audit log stays small (aggregated), and every refusal is counted', { timeout: 30_000 }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['audit_flood', '20000'], dirs: [{ host: fx.data, guest: '/data' }] });
      assert.equal(r.verdicts.get('audit_flood'), 'refused=20000');
      const denies = recordsOf(r.audit, 'deny');
      // The flood control's bound is per second (src/audit/aggregate.ts: 10 records of a kind, then one count,
      // per 1 s window), so a slow machine that takes longer over the flood gets a few more records, never 20000.
      const windows = Math.ceil(r.result.usage.wallMs / 1000) + 1;
      assert.ok(denies.length <= 11 * windows, `${denies.length} deny records in ${windows} windows`);
      assert.ok(denies.length <= 200, `${denies.length} deny records`);
      assert.equal(eventCount(denies), 20000);
    });

    it('3000 refused connects to distinct addresses: bounded records, every one counted', { timeout: 60_000 }, async () => {
      const r = await checkedRun('hostile_net', { args: ['flood', '3000'] });
      assert.equal(r.verdicts.get('flood'), 'refused=3000 other=0 (OK)');
      const denies = recordsOf(r.audit, 'deny', 'connect');
      assert.ok(denies.length <= 1100, `${denies.length} deny records`);
      assert.equal(eventCount(denies), 3000);
    });

    it('the run result counts every refusal, aggregated ones too', {
      timeout: 30_000,
    }, async () => {
      const r = await checkedRun('hostile_exhaust', { args: ['audit_flood', '20000'], dirs: [{ host: fx.data, guest: '/data' }] });
      assert.equal(r.result.audit.deny, 20000);
    });

    it('unbounded recursion: the guest traps (exit 101), the host and a neighbour carry on', { timeout: 30_000 }, async () => {
      const { layer } = sharedLayer();
      try {
        layer.addGuest('recurse');
        layer.addGuest('bystander');
        const [deep, other] = await Promise.all([
          runHostile('recurse', { layer, name: 'recurse', timeoutMs: 20_000 }),
          runHostile('hostile_net', { layer, name: 'bystander', args: ['bystander', '500'], timeoutMs: 20_000 }),
        ]);
        assert.equal(deep.result.outcome.kind, 'trap');
        assert.equal(deep.result.exitCode, 101);
        assert.match((deep.result.outcome as { message: string }).message, /call stack exhausted/);
        assert.equal(other.verdicts.get('bystander'), 'ok 500');
        // The host still runs guests.
        const hello = await run(guest('hello'), { stdout: 'capture', timeoutMs: 20_000 });
        assert.equal(hello.exitCode, 0);
      } finally {
        layer.close();
      }
    });
  });
});


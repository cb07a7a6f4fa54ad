// Hostile guests, group 1: every way out of a mount (.., absolute paths, symlinks, loops, look-alike
// names, cross-mount links, host renames, swap races) is refused, audited, and leaves the host untouched.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DirMount } from '../../src/api/run.js';
import { watchedOutput } from '../helpers/net.js';
import {
  checkedRun, fdDiff, fdTargets, feedableStdin, fsFixture, recordsOf, runHostile, stableFds, fdsBackTo,
  type FsFixture, type HostileRun,
} from '../helpers/hostile.js';

/** A guest path attempt the runtime refused as an escape, as the audit log shows it. */
const ESCAPE_REASON = /outside its mount|absolute symlink targets are refused|is read-only/;

interface Case {
  /** What the attack is. */
  title: string;
  args: (fx: FsFixture) => string[];
  /** Every verdict line, exactly (a RegExp where several safe answers are fine). */
  expect: Record<string, string | RegExp>;
  /** How many deny records the runtime must write (escapes it refused), each naming the path. */
  denies: number;
  /** Mounts beyond /data. */
  mounts?: ('ro' | 'data_b' | 'tmpfs')[];
  todo?: string;
}

const NOTCAP = 'ENOTCAPABLE';

const CASES: Case[] = [
  {
    title: '.. out of the mount',
    args: () => ['dotdot'],
    expect: { dotdot: NOTCAP, dotdot_nofollow: NOTCAP },
    denies: 2,
  },
  {
    title: 'a long .. chain to /etc/passwd',
    args: () => ['dotdot_deep'],
    expect: { dotdot_deep: NOTCAP, dotdot_deep_secret: NOTCAP },
    denies: 2,
  },
  {
    title: 'absolute paths (raw path_open, and wasi-libc open of a path no preopen covers)',
    args: (fx) => ['absolute', fx.secret],
    expect: { absolute: NOTCAP, absolute_secret: NOTCAP, absolute_libc: NOTCAP },
    denies: 2,
  },
  {
    title: 'an absolute symlink created by the guest',
    args: (fx) => ['guest_abs_symlink', fx.secret],
    expect: { guest_abs_symlink_create: NOTCAP, guest_abs_symlink_open: 'ENOENT' },
    denies: 1,
  },
  {
    title: 'a relative symlink created by the guest, pointing out',
    args: () => ['guest_rel_symlink'],
    expect: { guest_rel_symlink_create: 'OK', guest_rel_symlink_open: NOTCAP, guest_rel_symlink_nofollow: 'ELOOP', guest_rel_symlink_cleanup: 'OK' },
    denies: 1,
  },
  {
    title: 'directory symlinks created by the guest (to "..", and through sub/../..)',
    args: () => ['guest_dir_symlink'],
    expect: {
      guest_dir_symlink_create: 'OK', guest_dir_symlink_open: NOTCAP, guest_dir_symlink_twice: NOTCAP,
      guest_dir_symlink_create2: 'OK', guest_dir_symlink_sneaky: NOTCAP, guest_dir_symlink_cleanup: 'OK',
    },
    denies: 3,
  },
  {
    title: 'symlinks already on the host pointing outside (absolute, relative, directory, chained)',
    args: () => ['host_symlinks'],
    expect: { host_abs_link: NOTCAP, host_rel_link: NOTCAP, host_dir_link: NOTCAP, host_abs_dir_link: NOTCAP, host_chain_link: NOTCAP },
    denies: 5,
  },
  {
    title: 'trailing slashes, dots and doubled slashes',
    args: () => ['trailing'],
    expect: {
      trailing_slash: NOTCAP, trailing_dot: NOTCAP, trailing_slashdot: NOTCAP, trailing_dotdot_only: NOTCAP,
      trailing_dotdot_slash: NOTCAP, trailing_many_slashes: NOTCAP, trailing_control: 'OK (inside sub.)',
    },
    denies: 6,
  },
  {
    title: 'dir/../../x',
    args: () => ['dir_dotdot'],
    expect: { dir_dotdot: NOTCAP, dir_dotdot_sibling: NOTCAP, dir_dotdot_control: 'OK (inside data.)' },
    denies: 2,
  },
  {
    title: 'symlink loops (host-made pair, guest-made self loop)',
    args: () => ['symlink_loop'],
    expect: { symlink_loop_host: 'ELOOP', symlink_loop_create: 'OK', symlink_loop_self: 'ELOOP', symlink_loop_dir: 'ELOOP' },
    denies: 0,
  },
  {
    title: 'a name that merely starts like the mount (/data2 beside /data)',
    args: () => ['prefix'],
    expect: { prefix_libc: NOTCAP, prefix_libc_dotdot: NOTCAP, prefix_raw: NOTCAP, prefix_libc_control: 'OK (inside data.)' },
    denies: 2,
  },
  {
    title: 'hard link and rename from a read-only mount into a writable one',
    args: () => ['xmount_ro'],
    // The source lies in a read-only mount: EROFS before anything else (POSIX would also allow EXDEV).
    expect: { xmount_ro_link: 'EROFS', xmount_ro_rename: 'EROFS' },
    // Refused for the read-only mount's sake: each refusal is a deny record naming it.
    denies: 2,
    mounts: ['ro'],
  },
  {
    title: 'hard link and rename from one writable mount to another',
    args: () => ['xmount_rw'],
    expect: { xmount_rw_link: 'EXDEV', xmount_rw_rename: 'EXDEV', xmount_rw_rename_dir: 'EXDEV' },
    denies: 0,
    mounts: ['data_b'],
  },
  {
    title: 'hard link and rename between an in-memory mount and a host mount',
    args: () => ['xmount_tmpfs'],
    expect: { xmount_tmpfs_setup: 'OK', xmount_tmpfs_link_out: 'EXDEV', xmount_tmpfs_rename_out: 'EXDEV', xmount_tmpfs_link_in: 'EXDEV' },
    denies: 0,
    mounts: ['tmpfs'],
  },
  {
    title: 'path_open with O_DIRECTORY on symlinks leading out',
    args: () => ['o_directory'],
    expect: { o_directory_nofollow: 'ELOOP', o_directory_follow: NOTCAP, o_directory_abs: NOTCAP, o_directory_slash: NOTCAP },
    denies: 3,
  },
  {
    title: '/proc/self-like paths inside the mount',
    args: () => ['proc_self'],
    expect: { proc_self_root: NOTCAP, proc_self_cwd: NOTCAP, proc_self_fd: 'ENOENT', proc_self_abs: NOTCAP, proc_self_libc: NOTCAP },
    denies: 3,
  },
  {
    title: 'names with NUL bytes, invalid UTF-8, empty names, path calls on stdio',
    args: () => ['bad_names'],
    expect: { bad_names_nul: 'EINVAL', bad_names_utf8: 'EILSEQ', bad_names_empty: 'ENOENT', bad_names_stdio_dir: 'ENOTDIR' },
    denies: 0,
  },
  {
    title: 'a named pipe in the mount cannot block the enclave',
    args: () => ['fifo'],
    expect: { fifo_read: /^(ESPIPE|EAGAIN|OK)$/, fifo_write: /^(ENXIO|EAGAIN)$/ },
    denies: 0,
  },
];

function mountsFor(fx: FsFixture, extra: Case['mounts'] = []): { dirs: DirMount[]; tmpfs?: Record<string, number> } {
  const dirs: DirMount[] = [{ host: fx.data, guest: '/data' }];
  if (extra.includes('ro')) dirs.push({ host: fx.ro, guest: '/ro', readOnly: true });
  if (extra.includes('data_b')) dirs.push({ host: fx.dataB, guest: '/data_b' });
  return { dirs, ...(extra.includes('tmpfs') ? { tmpfs: { '/t': 1 << 20 } } : {}) };
}

function assertVerdicts(r: HostileRun, expect: Record<string, string | RegExp>): void {
  assert.deepEqual([...r.verdicts.keys()].sort(), Object.keys(expect).sort(), r.stdout);
  for (const [label, want] of Object.entries(expect)) {
    const got = r.verdicts.get(label)!;
    if (typeof want === 'string') assert.equal(got, want, `${label}\n${r.stdout}`);
    else assert.match(got, want, `${label}\n${r.stdout}`);
  }
}

function assertNoEscape(r: HostileRun): void {
  assert.ok(!r.stdout.includes('ESCAPED'), r.stdout);
  assert.ok(!r.stdout.includes('SECRET'), r.stdout);
  assert.ok(!/root:x?:0:/.test(r.stdout), r.stdout);
}

describe('hostile guests: filesystem escapes (group 1)', () => {
  let fx: FsFixture;
  before(() => { fx = fsFixture(); });
  after(() => fx.cleanup());

  for (const c of CASES) {
    it(c.title, { timeout: 30_000, ...(c.todo ? { todo: c.todo } : {}) }, async () => {
      const outside = fx.outside();
      const inside = fx.inside();
      const started = Date.now();
      const r = await checkedRun('hostile_fs', { args: c.args(fx), ...mountsFor(fx, c.mounts), timeoutMs: 10_000 });
      assert.deepEqual(r.result.outcome, { kind: 'exit', code: 0 }, r.stdout + r.stderr);
      assert.ok(Date.now() - started < 10_000);
      assertVerdicts(r, c.expect);
      assertNoEscape(r);
      // The host: nothing outside the mounts changed, and the mounts are as they were.
      assert.deepEqual(fx.outside(), outside);
      assert.deepEqual(fx.inside(), inside);
      // Every refused escape is a deny record naming the guest path and why.
      const denies = recordsOf(r.audit, 'deny');
      assert.equal(denies.length, c.denies, JSON.stringify(denies));
      for (const d of denies) {
        assert.equal(d.enclave, 'hostile-fs');
        assert.match(d.reason, ESCAPE_REASON);
        // A change refused for a read-only mount is EROFS; an escape is ENOTCAPABLE.
        assert.equal(d.errno, /is read-only/.test(d.reason) ? 'ROFS' : 'NOTCAPABLE');
        assert.ok(d.target.length > 0);
      }
    });
  }

  it('a directory renamed on the host while the guest holds it: still only its inside is reachable', { timeout: 30_000 }, async () => {
    const own = fsFixture('capsule-hostile-held-');
    try {
      const secret = fs.readFileSync(own.secret, 'utf8');
      const watch = watchedOutput();
      const stdin = feedableStdin();
      const before = await stableFds();
      const targets = fdTargets();
      const pending = runHostile('hostile_fs', { args: ['held_dir'], dirs: [{ host: own.data, guest: '/data' }], stdin: stdin.stream, watch, timeoutMs: 15_000 });
      await watch.waitFor('held_dir: ready', 10_000);
      // Move the held directory out of the mount, right beside the secret.
      fs.renameSync(path.join(own.data, 'sub'), path.join(own.root, 'moved_sub'));
      const moved = own.outside();
      stdin.send('go\n');
      stdin.end();
      const r = await pending;
      const after = await fdsBackTo(before);
      assert.equal(after, before, `descriptors of the test process (${fdDiff(targets, fdTargets()).join('; ')})`);
      assert.equal(r.socketsLeft, 0);
      assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
      assertVerdicts(r, {
        held_dir: 'ready',
        held_dir_inside: 'OK (inside sub.)',
        held_dir_dotdot: NOTCAP,
        held_dir_dotdot2: NOTCAP,
        held_dir_dotdot_dir: NOTCAP,
        held_dir_preopen_still: 'OK (inside data.)',
        held_dir_gone: 'ENOENT',
      });
      assertNoEscape(r);
      assert.equal(recordsOf(r.audit, 'deny').length, 3);
      assert.deepEqual(own.outside(), moved);
      assert.equal(fs.readFileSync(own.secret, 'utf8'), secret);
    } finally {
      own.cleanup();
    }
  });

  it('a directory swapped for a symlink in a tight loop while the guest opens through it: zero escapes in 2000 tries', { timeout: 90_000 }, async () => {
    const own = fsFixture('capsule-hostile-race-');
    const data = own.data;
    fs.mkdirSync(path.join(data, 'swap'));
    fs.writeFileSync(path.join(data, 'swap', 'secret.txt'), 'inside swap\n');
    fs.writeFileSync(path.join(data, 'swapf'), 'inside swapf\n');
    const outsideBefore = own.outside();
    // The swapper: a separate process, so it races the enclave thread truly in parallel.
    // It swaps in batches and yields between them, so SIGTERM is handled.
    const script = `
      const fs = require('fs'), p = require('path');
      const [data, outDir, outFile] = process.argv.slice(1);
      const swap = p.join(data, 'swap'), parked = p.join(data, 'swap_parked');
      const swapf = p.join(data, 'swapf'), parkedf = p.join(data, 'swapf_parked');
      const stopAt = Date.now() + 80000;
      let n = 0;
      process.on('SIGTERM', () => { process.stdout.write('swaps ' + n + '\\n', () => process.exit(0)); });
      const batch = () => {
        for (let k = 0; k < 200; k++, n++) {
          try {
            fs.renameSync(swap, parked); fs.symlinkSync(n % 2 ? outDir : '../data2', swap);
            fs.unlinkSync(swap); fs.renameSync(parked, swap);
            fs.renameSync(swapf, parkedf); fs.symlinkSync(n % 2 ? outFile : '../outside_secret.txt', swapf);
            fs.unlinkSync(swapf); fs.renameSync(parkedf, swapf);
          } catch {}
        }
        if (n === 200) process.stdout.write('started\\n');
        if (Date.now() > stopAt) process.exit(0);
        setImmediate(batch);
      };
      batch();`;
    const swapper = spawn(process.execPath, ['-e', script, data, path.join(own.root, 'data2'), own.secret], { stdio: ['ignore', 'pipe', 'inherit'] });
    let swapOut = '';
    swapper.stdout.setEncoding('utf8').on('data', (s: string) => { swapOut += s; });
    const swapperDone = new Promise<void>((resolve) => swapper.on('close', () => resolve()));
    try {
      const deadline = Date.now() + 10_000;
      while (!swapOut.includes('started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(swapOut.includes('started'), 'the swapper did not start');
      const r = await runHostile('hostile_fs', { args: ['race', '2000'], dirs: [{ host: data, guest: '/data' }], timeoutMs: 60_000 });
      swapper.kill('SIGTERM');
      await swapperDone;
      assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
      assertNoEscape(r);
      for (const kind of ['race_dir', 'race_file']) {
        const m = /^iterations=(\d+) escapes=(\d+) ok=(\d+) refused=(\d+)$/.exec(r.verdicts.get(kind) ?? '');
        assert.ok(m, r.stdout);
        const [iterations, escapes, ok, refused] = m.slice(1).map(Number) as [number, number, number, number];
        assert.equal(iterations, 2000);
        assert.equal(escapes, 0, `${kind}: ${r.stdout}`);
        assert.equal(ok + refused, 2000);
        // The race really happened: some opens met the symlink.
        assert.ok(refused > 0, `${kind}: the swapper never got in the way (${r.stdout})`);
      }
      const swaps = Number(/swaps (\d+)/.exec(swapOut)?.[1] ?? 0);
      assert.ok(swaps > 10, `only ${swaps} swaps`);
      assert.deepEqual(own.outside(), outsideBefore);
      for (const d of recordsOf(r.audit, 'deny')) assert.match(d.reason, ESCAPE_REASON);
    } finally {
      if (swapper.exitCode === null) swapper.kill('SIGKILL');
      await swapperDone;
      own.cleanup();
    }
  });
});

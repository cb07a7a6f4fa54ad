// Bad input through the CLI (and the API): each failure gives its documented
// exit code and exactly one "capsule: ..." line on stderr, never a stack trace.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapsuleError, run } from '../../src/api/index.js';
import { guest, lines, runCli, tempDir, type CliResult, type TempDir } from '../helpers/cli.js';

/** Exactly one stderr line, "capsule: ...", containing every `needles`; no stack trace. */
function assertOneLine(r: CliResult, ...needles: string[]): void {
  const l = lines(r.stderr);
  assert.equal(l.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(l[0]!, /^capsule: /);
  for (const n of needles) assert.ok(l[0]!.includes(n), `stderr ${JSON.stringify(l[0])} lacks ${JSON.stringify(n)}`);
  assertNoStack(r);
}

function assertNoStack(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /^ {4}at /m, 'stderr has a stack trace');
  assert.doesNotMatch(r.stdout, /^ {4}at /m, 'stdout has a stack trace');
}

describe('bad modules', () => {
  let tmp: TempDir;
  before(() => { tmp = tempDir(); });
  after(() => tmp.cleanup());

  it('a text file renamed .wasm is 65, "not a WebAssembly module"', async () => {
    const file = path.join(tmp.path, 'notes.wasm');
    fs.writeFileSync(file, 'just some text, not a module\n');
    const r = await runCli(['run', file]);
    assert.equal(r.code, 65);
    assertOneLine(r, 'notes.wasm', 'not a WebAssembly module');
  });

  it('a truncated module is 65 and names the file', async () => {
    const file = path.join(tmp.path, 'truncated.wasm');
    fs.writeFileSync(file, fs.readFileSync(guest('hello')).subarray(0, 100));
    const r = await runCli(['run', file]);
    assert.equal(r.code, 65);
    assertOneLine(r, 'truncated.wasm', 'not a valid WebAssembly module');
  });

  it('a module without _start is 65 and names _start', async () => {
    const r = await runCli(['run', guest('no_start')]);
    assert.equal(r.code, 65);
    assertOneLine(r, 'no_start.wasm', '_start');
  });

  it('unknown imports are 65 and every one is listed', async () => {
    const r = await runCli(['run', guest('unknown_import')]);
    assert.equal(r.code, 65);
    assertOneLine(r, 'capsule_test.mystery_one', 'capsule_test.mystery_two');
    assert.equal(r.stdout, '');
  });

  it('--trap-unknown-imports runs the module when no unknown import is called', async () => {
    const r = await runCli(['run', '--trap-unknown-imports', guest('unknown_import')]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'no unknown call made\n');
    assert.equal(r.stderr, '');
  });

  it('--trap-unknown-imports traps (101) when one is called, naming it', async () => {
    const r = await runCli(['run', '--trap-unknown-imports', guest('unknown_import'), 'call']);
    assert.equal(r.code, 101);
    assertOneLine(r, 'capsule_test.mystery_one');
    assert.ok(!r.stdout.includes('mystery_one returned'));
  });
});

describe('traps', () => {
  it('unreachable: 101, output written before the trap is flushed', async () => {
    const r = await runCli(['run', guest('trap_unreachable')]);
    assert.equal(r.code, 101);
    assert.equal(r.stdout, 'before trap\n');
    const l = lines(r.stderr);
    assert.equal(l.length, 2, r.stderr);
    assert.equal(l[0], 'err before trap');
    assert.match(l[1]!, /^capsule: .*trap_unreachable\.wasm.*unreachable/);
    assertNoStack(r);
  });

  it('out-of-bounds access: 101, "out-of-bounds"', async () => {
    const r = await runCli(['run', guest('trap_oob')]);
    assert.equal(r.code, 101);
    assert.equal(r.stdout, 'before oob\n');
    assertOneLine(r, 'out-of-bounds');
  });

  it('stack overflow: 101, names the stack', async () => {
    const r = await runCli(['run', guest('stack_overflow')]);
    assert.equal(r.code, 101);
    assert.equal(r.stdout, 'recursing\n');
    assertOneLine(r, 'stack');
  });
});

/** Usage errors of `capsule run` currently print commander's own "error: ..." and exit 1. */

describe('bad command lines and missing inputs', () => {
  let tmp: TempDir;
  before(() => { tmp = tempDir(); });
  after(() => tmp.cleanup());

  it('a missing module file is 66 and names it', async () => {
    const file = path.join(tmp.path, 'absent.wasm');
    const r = await runCli(['run', file]);
    assert.equal(r.code, 66);
    assertOneLine(r, 'absent.wasm');
  });

  it('a directory given as the module is 66', async () => {
    const r = await runCli(['run', tmp.path]);
    assert.equal(r.code, 66);
    assertOneLine(r, tmp.path, 'directory');
  });

  it('a malformed --env is 64', async () => {
    const r = await runCli(['run', '--env', '=x', guest('hello')]);
    assert.equal(r.code, 64);
    assertOneLine(r, '--env', '=x');
    assert.equal(r.stdout, '');
  });

  it('an unknown option is 64', async () => {
    const r = await runCli(['run', '--bogus', guest('hello')]);
    assert.equal(r.code, 64);
    assertOneLine(r, '--bogus');
    assert.equal(r.stdout, '');
  });

  it('a malformed --dir is 64', async () => {
    const r = await runCli(['run', '--dir', '::/x', guest('hello')]);
    assert.equal(r.code, 64);
    assertOneLine(r, '--dir', '::/x');
    assert.equal(r.stdout, '');
  });

  it('a --dir with an unknown mount option is 64, naming the accepted ones, and mounts nothing', async () => {
    for (const opt of ['rx', 'RO', 'r']) {
      const r = await runCli(['run', '--dir', `${tmp.path}::/data:${opt}`, guest('hello')]);
      assert.equal(r.code, 64);
      assertOneLine(r, `unknown mount option '${opt}' (accepted: ro, rw)`);
      assert.equal(r.stdout, '');
    }
  });

  it('a limit out of its bounds is 64 as a flag and 78 in a policy or system file, with the same words', async () => {
    const flag = await runCli(['run', '--max-fds', '0', guest('hello')]);
    assert.equal(flag.code, 64);
    assertOneLine(flag, "--max-fds '0': must be between 4 and 65536");
    const policy = path.join(tmp.path, 'fds-policy.json');
    fs.writeFileSync(policy, JSON.stringify({ limits: { maxFds: 0 } }));
    const file = await runCli(['run', '--policy', policy, guest('hello')]);
    assert.equal(file.code, 78);
    assertOneLine(file, 'limits.maxFds: must be between 4 and 65536');
    const system = path.join(tmp.path, 'fds-system.json');
    fs.writeFileSync(system, JSON.stringify({ limits: { maxFds: 0 }, guests: [{ name: 'a', module: guest('hello') }] }));
    const up = await runCli(['up', system]);
    assert.equal(up.code, 78);
    assertOneLine(up, 'limits.maxFds: must be between 4 and 65536');
  });

  it('a system file guest with a mount typo is 78, naming the field', async () => {
    const system = path.join(tmp.path, 'typo-system.json');
    fs.writeFileSync(system, JSON.stringify({ guests: [{ name: 'a', module: guest('hello'), dirs: [`${tmp.path}::/data:rx`] }] }));
    const r = await runCli(['up', system]);
    assert.equal(r.code, 78);
    assertOneLine(r, "guests[0].dirs[0]: unknown mount option 'rx' (accepted: ro, rw)");
  });

  it('--dir naming a nonexistent host directory is 66', async () => {
    const missing = path.join(tmp.path, 'no-such-dir');
    const r = await runCli(['run', '--dir', `${missing}::/x`, guest('hello')]);
    assert.equal(r.code, 66);
    assertOneLine(r, missing);
    assert.equal(r.stdout, '');
  });

  it('--dir naming a regular file is 66', async () => {
    const file = path.join(tmp.path, 'plain.txt');
    fs.writeFileSync(file, 'x');
    const r = await runCli(['run', '--dir', `${file}::/x`, guest('hello')]);
    assert.equal(r.code, 66);
    assertOneLine(r, file, 'not a directory');
    assert.equal(r.stdout, '');
  });

  it('--mode with an unknown value is 64', async () => {
    const r = await runCli(['run', '--mode', 'weird', guest('hello')]);
    assert.equal(r.code, 64);
    assertOneLine(r, 'weird');
  });

  it('no module argument is 64', async () => {
    const r = await runCli(['run']);
    assert.equal(r.code, 64);
    assertOneLine(r, 'module');
  });

  it('an unknown command is 64', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 64);
    assertOneLine(r, 'frobnicate');
  });

  it('no command at all is 64 with a meaningful message', {
  }, async () => {
    const r = await runCli([]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /^capsule: /);
    assert.ok(!r.stderr.includes('(outputHelp)'), r.stderr);
    assert.match(r.stderr, /command|run/);
  });
});

describe('help', () => {
  const OPTIONS = ['--dir', '--env', '--mode', '--trap-unknown-imports', '--argv0'];
  const CODES = ['64', '65', '66', '101'];
  const assertCodes = (text: string): void => {
    for (const c of CODES) assert.match(text, new RegExp(`^\\s+${c}\\s`, 'm'), `help lacks exit code ${c}`);
  };

  it('capsule run --help exits 0 and documents every option and exit code', async () => {
    const r = await runCli(['run', '--help']);
    assert.equal(r.code, 0);
    for (const o of OPTIONS) assert.ok(r.stdout.includes(o), `run --help lacks ${o}`);
    assertCodes(r.stdout);
  });

  it('capsule --help exits 0 and documents the exit codes', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.includes('run'));
    assertCodes(r.stdout);
  });

  it('capsule --help documents every run option', {
  }, async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const o of OPTIONS) assert.ok(r.stdout.includes(o), `--help lacks ${o}`);
  });
});

describe('API: a bad module', () => {
  it('rejects with CapsuleError exitCode 65, and a following good run works', async () => {
    await assert.rejects(run(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]), { stdout: 'capture', stderr: 'capture' }),
      (err: unknown) => err instanceof CapsuleError && err.exitCode === 65);
    await assert.rejects(run(guest('no_start'), { stdout: 'capture' }),
      (err: unknown) => err instanceof CapsuleError && err.exitCode === 65 && err.message.includes('_start'));
    const ok = await run(guest('hello'), { args: ['x'], stdout: 'capture', stderr: 'capture' });
    assert.equal(ok.exitCode, 0);
    assert.deepEqual(ok.outcome, { kind: 'exit', code: 0 });
    assert.equal(ok.stdout?.toString(), 'hello from capsule\nargv[0]=hello.wasm\nargv[1]=x\n');
  });
});

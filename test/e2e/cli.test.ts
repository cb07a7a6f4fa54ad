// The CLI end to end: arguments, environment, exit status, stdin/stdout/stderr
// (including streaming), clocks, randomness and file output, in both modes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, MODES, ROOT, guest, runCli, tempDir, type CliOptions, type CliResult } from '../helpers/cli.js';

/** Runs `capsule run --mode M <rest>` in both modes; asserts they agree on exit code (and stdout unless told). */
async function both(rest: string[], opts: CliOptions = {}, sameStdout = true): Promise<Record<'secure' | 'normal', CliResult>> {
  const out = {} as Record<'secure' | 'normal', CliResult>;
  for (const mode of MODES) out[mode] = await runCli(['run', '--mode', mode, ...rest], opts);
  assert.equal(out.normal.code, out.secure.code, 'exit code differs between modes');
  if (sameStdout) assert.deepEqual(out.normal.stdoutBytes, out.secure.stdoutBytes, 'stdout differs between modes');
  return out;
}

/** echo_lines.wasm in a child whose stdin the test feeds; `until` and `closed` reject after timeoutMs overall. */
function startEcho(mode: string, timeoutMs = 20_000) {
  const child = spawn(process.execPath, [CLI, 'run', '--mode', mode, guest('echo_lines')], { cwd: ROOT, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  let waiter: { want: string; resolve: () => void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`guest hung; stdout so far: ${JSON.stringify(stdout)}`)); }, timeoutMs);
  });
  hung.catch(() => {});
  child.stdin.on('error', () => {});
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    if (waiter && stdout.includes(waiter.want)) waiter.resolve();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    write: (s: string) => child.stdin.write(s),
    until: (want: string): Promise<void> => Promise.race([hung, new Promise<void>((resolve) => {
      if (stdout.includes(want)) return resolve();
      waiter = { want, resolve };
    })]),
    closed: Promise.race([hung, exited]),
    dispose: () => {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

describe('arguments and environment', () => {
  it('args and env reach the guest; bare --env NAME passes the host value or is skipped', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CAPSULE_T_B: 'from host' };
    delete env['CAPSULE_T_UNSET'];
    const r = await both(['--env', 'A=1', '--env', 'CAPSULE_T_B', '--env', 'CAPSULE_T_UNSET', '--env', 'C=x=y',
      guest('hello'), 'one', 'two words'], { env });
    for (const mode of MODES) {
      assert.equal(r[mode].code, 0, mode);
      assert.equal(r[mode].stdout, 'hello from capsule\nargv[0]=hello.wasm\nargv[1]=one\nargv[2]=two words\n'
        + 'env A=1\nenv CAPSULE_T_B=from host\nenv C=x=y\n', mode);
    }
  });

  it('the guest inherits no environment by default', async () => {
    const r = await both([guest('hello')], { env: { ...process.env, CAPSULE_T_SECRET: 's3cret' } });
    assert.equal(r.secure.stdout, 'hello from capsule\nargv[0]=hello.wasm\n');
  });

  it('--argv0 sets argv[0]', async () => {
    const r = await both(['--argv0', 'myprog', guest('hello'), 'x']);
    assert.equal(r.secure.code, 0);
    assert.equal(r.secure.stdout, 'hello from capsule\nargv[0]=myprog\nargv[1]=x\n');
  });

  it('guest arguments that look like options reach the guest verbatim', async () => {
    const r = await both([guest('hello'), '--flag', '-x', '--mode', 'normal', '--help']);
    assert.equal(r.secure.code, 0);
    assert.equal(r.secure.stdout,
      'hello from capsule\nargv[0]=hello.wasm\nargv[1]=--flag\nargv[2]=-x\nargv[3]=--mode\nargv[4]=normal\nargv[5]=--help\n');
  });

  it('a "--" after the module is not passed to the guest', async () => {
    const r = await both([guest('hello'), '--', '--flag']);
    assert.equal(r.secure.code, 0);
    assert.equal(r.secure.stdout, 'hello from capsule\nargv[0]=hello.wasm\nargv[1]=--flag\n');
  });
});

describe('exit status', () => {
  for (const code of [0, 3, 42]) {
    it(`exit_code ${code} exits ${code}`, async () => {
      const r = await both([guest('exit_code'), String(code)]);
      assert.equal(r.secure.code, code);
      assert.equal(r.secure.stdout, `exiting with ${code}\n`);
      assert.equal(r.secure.stderr, '');
    });
  }
});

describe('stdio', () => {
  it('stdin is piped through exactly (100 KB of random bytes)', async () => {
    const data = randomBytes(100 * 1024);
    const r = await both([guest('cat')], { stdin: data });
    assert.equal(r.secure.code, 0);
    assert.equal(r.secure.stdoutBytes.length, data.length);
    assert.ok(r.secure.stdoutBytes.equals(data), 'cat output differs from its input');
  });

  it('stdout and stderr stay separate', async () => {
    const ok = await both([guest('hello')]);
    assert.equal(ok.secure.stderr, '');
    assert.equal(ok.normal.stderr, '');
    // cat of a file that is not reachable: error on stderr only.
    const bad = await both([guest('cat'), 'no-such-file']);
    for (const mode of MODES) {
      assert.equal(bad[mode].code, 1, mode);
      assert.equal(bad[mode].stdout, '', mode);
      assert.match(bad[mode].stderr, /^cat: .+\n$/, mode);
    }
  });

  for (const mode of MODES) {
    it(`output is streamed while the guest runs (${mode} mode)`, async () => {
      const s = startEcho(mode);
      try {
        s.write('one\n');
        await s.until('got: one\n');
        // The guest is still running (stdin is open), so this output was streamed, not flushed at exit.
        assert.equal(s.child.exitCode, null);
        assert.ok(!s.stdout().includes('two'));
        s.write('two\n');
        await s.until('got: two\n');
        s.child.stdin.end();
        const code = await s.closed;
        assert.equal(code, 0, s.stderr());
        assert.equal(s.stdout(), 'got: one\ngot: two\n');
      } finally {
        s.dispose();
      }
    });
  }

  it('stdin EOF arriving just as the guest blocks in read still ends it', {
  }, async () => {
    const runs = Array.from({ length: 8 }, async () => {
      // The limit counts from the spawn: eight processes starting at once on a busy machine take seconds; a hang never ends.
      const s = startEcho('secure', 30_000);
      try {
        s.write('one\n');
        await s.until('got: one\n');
        s.child.stdin.end();
        assert.equal(await s.closed, 0);
      } finally {
        s.dispose();
      }
    });
    await Promise.all(runs);
  });

  for (const mode of MODES) {
    it(`Ctrl-C stops a running guest: exit 130, one line (${mode} mode)`, async () => {
      const s = startEcho(mode);
      try {
        s.write('one\n');
        await s.until('got: one\n');
        s.child.kill('SIGINT');
        assert.equal(await s.closed, 130);
        assert.match(s.stderr(), /^capsule: .*interrupted\n$/);
        assert.equal(s.stdout(), 'got: one\n');
      } finally {
        s.dispose();
      }
    });
  }

  it('stdin_poll sees stdin become readable', async () => {
    const r = await both([guest('stdin_poll')], { stdin: 'hello\n' });
    assert.equal(r.secure.code, 0);
    assert.equal(r.secure.stdout, 'ready\nread: hello\n\n');
  });
});

describe('clocks, sleeping and randomness', () => {
  it('sleep_poll 50 sleeps at least 50 ms and gets its clock event', async () => {
    const r = await both([guest('sleep_poll'), '50'], {}, false);
    for (const mode of MODES) {
      assert.equal(r[mode].code, 0, mode);
      const m = /^slept_ms=(\d+)\nevent userdata=42 type=clock error=0\n$/.exec(r[mode].stdout);
      assert.ok(m, `${mode}: unexpected output ${JSON.stringify(r[mode].stdout)}`);
      assert.ok(Number(m[1]) >= 50, `${mode}: slept only ${m[1]} ms`);
    }
  });

  it('clock_check reports sane clocks', async () => {
    const r = await both([guest('clock_check')]);
    assert.equal(r.secure.code, 0);
    assert.equal(r.secure.stdout, 'realtime ok\nmonotonic ok\nres ok\n');
  });

  it('random_check gets distinct non-zero random bytes', async () => {
    const r = await both([guest('random_check')]);
    assert.equal(r.secure.code, 0);
    assert.equal(r.secure.stdout, 'random ok\n');
  });
});

describe('file output under a mount', () => {
  for (const mode of MODES) {
    it(`write_many writes and verifies 1 MiB (${mode} mode)`, async () => {
      const tmp = tempDir();
      try {
        const r = await runCli(['run', '--mode', mode, '--dir', `${tmp.path}::/data`, guest('write_many'), '/data/big.bin']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'verified 1048576\n');
        const bytes = fs.readFileSync(path.join(tmp.path, 'big.bin'));
        assert.equal(bytes.length, 1048576);
        for (const i of [0, 1, 4095, 4096, 777777, 1048575]) assert.equal(bytes[i], (i * 7) & 0xff, `byte ${i}`);
      } finally {
        tmp.cleanup();
      }
    });
  }
});

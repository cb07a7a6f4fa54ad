// `capsule up` under output pressure: a guest flooding short lines slows
// itself, not its neighbours or the system's time limit; a reader that stops
// reading keeps the host's memory bounded; a reader that goes away (`| head`)
// ends nothing but the output, and every exit is still audited.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, ROOT, tempDir, type TempDir } from '../helpers/cli.js';
import { hostileGuest } from '../helpers/hostile.js';
import { systemGuest, writeSystem } from '../helpers/net.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-up-output-'); });
after(() => dir.cleanup());

function spawnUp(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'up', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

describe('capsule up: a guest flooding its output', () => {
  it('slows only itself: the others finish their network work and the time limit still fires', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, {
      limits: { timeout: '5s' },
      onFailure: 'continue',
      guests: [
        { name: 'flood', module: hostileGuest('hostile_output'), args: ['lines'] },
        // 64 KiB writes without a newline: one line without end.
        { name: 'flood-long', module: hostileGuest('hostile_output'), args: ['big'] },
        { name: 'pingpong', module: hostileGuest('hostile_net'), args: ['bystander', '2000'] },
        systemGuest('server', 'echo_server', ['7000', '1']),
        systemGuest('client', 'echo_client', ['server', '7000', 'through the flood']),
      ],
    }, 'flood.json');
    const started = Date.now();
    const up = spawnUp([file]);
    // Everything but the flood's lines is kept (the flood is hundreds of megabytes).
    const kept: string[] = [];
    let carry = '';
    let floodLines = 0;
    let longPieces = 0;
    const classify = (l: string): void => {
      if (l.startsWith('flood ')) floodLines++;
      else if (l.startsWith('flood-long ')) longPieces++;
      else kept.push(l);
    };
    up.child.stdout.setEncoding('utf8').on('data', (s: string) => {
      let start = 0;
      for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', start)) {
        classify(carry + s.slice(start, nl));
        carry = '';
        start = nl + 1;
      }
      // Only a line's start is needed to tell whose it is: this reader stays fast whatever comes.
      carry = (carry + s.slice(start)).slice(0, 64);
    });
    const code = await up.exited;
    // The limit is 5 s; a flood that held the event loop would push the end well past it (generous: 20 s).
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 20_000, `the system ended ${elapsed} ms after it started`);
    assert.equal(code, 102, up.stderr());
    assert.ok(kept.includes('pingpong   | bystander: ok 2000'), kept.join('\n'));
    assert.ok(kept.includes('client     | echo: through the flood'), kept.join('\n'));
    assert.ok(floodLines > 1000, `the flood was delivered too (${floodLines} lines)`);
    assert.ok(longPieces > 10, `the line without end came in prefixed pieces (${longPieces})`);
    assert.match(up.stderr(), /^capsule: flood stopped: wall-time limit of 5000 ms reached$/m);
    assert.match(up.stderr(), /^capsule: flood-long stopped: wall-time limit of 5000 ms reached$/m);
    assert.doesNotMatch(up.stderr(), /(pingpong|server|client).*(stopped|trapped)/);
  });

  it('a reader that stops reading keeps the host small: the guest waits', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, {
      limits: { timeout: '6s' },
      guests: [{ name: 'big', module: hostileGuest('hostile_output'), args: ['big'] }],
    }, 'slow-reader.json');
    const up = spawnUp([file]);
    // Nothing reads stdout for four seconds (unread, a child's pipe fills and stays full).
    let peak = 0;
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 500));
      peak = Math.max(peak, rssBytes(up.child.pid!));
    }
    up.child.stdout.resume();
    assert.equal(await up.exited, 102, up.stderr());
    assert.ok(peak > 0, 'the process was measured');
    assert.ok(peak < 300 * 1024 * 1024, `RSS peaked at ${Math.round(peak / 1048576)} MiB`);
  });
});

describe('capsule up | head -1', () => {
  it('ends without a stack trace, with the guests\' own codes and every exit audited', { timeout: 60_000 }, async () => {
    const audit = path.join(dir.path, 'head.jsonl');
    const file = writeSystem(dir.path, {
      guests: [
        { name: 'many', module: hostileGuest('hostile_output'), args: ['lines', '500000'] },
        systemGuest('server', 'echo_server', ['7000', '1']),
        systemGuest('client', 'echo_client', ['server', '7000', 'hello']),
      ],
    }, 'head.json');
    const up = spawnUp(['--audit', audit, file]);
    // Like `head -1`: read one line, then close the pipe.
    await new Promise<void>((resolve) => {
      let text = '';
      up.child.stdout.setEncoding('utf8').on('data', (s: string) => {
        text += s;
        if (text.includes('\n')) { up.child.stdout.destroy(); resolve(); }
      });
    });
    const code = await up.exited;
    // Each guest ended on its own, exit 0: the writes that failed were EPIPE, which they ignore.
    assert.equal(code, 0, up.stderr());
    assert.doesNotMatch(up.stderr(), /\n\s+at |Error|EPIPE/, up.stderr());
    const exits = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { enclave: string; op: string })
      .filter((r) => r.op === 'exit').map((r) => r.enclave).sort();
    assert.deepEqual(exits, ['client', 'many', 'server']);
  });

  for (const args of [['--help'], ['run', path.join('test', 'guests', 'hostile', 'hostile_output.wasm'), 'lines', '200000']]) {
    it(`capsule ${args[0]} into a reader that has gone away: no stack trace, the usual code`, { timeout: 30_000 }, async () => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
      // Closed before the first write lands (or right after it): either way the writes fail with EPIPE.
      child.stdout.destroy();
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, stderr);
      assert.doesNotMatch(stderr, /capsule:|\n\s+at /, stderr);
    });
  }
});

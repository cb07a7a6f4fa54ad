// Programs built by the real WASIX toolchain (wasix-libc, shared imported
// memory, -pthread; scripts/build-wasix-guests.sh and build-wasix-programs.sh)
// run unchanged: test programs of the WASIX calls, and two real programs
// nobody on the project wrote, darkhttpd (a static HTTP server) and
// miniupnpc's testminiwget (an HTTP client), built unmodified.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layer, run } from '../../src/api/index.js';
import { MODES, ROOT, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { freePort, startCli, watchedOutput } from '../helpers/net.js';
import { ValType, op, wasmModule } from '../helpers/wasm.js';

const wasix = (name: string): string => path.join(ROOT, 'test', 'guests', 'wasix', `${name}.wasm`);
const PAGE_TEXT = '<html><body>served from a read-only mount</body></html>\n';

/** GETs a URL from the host, retrying while the server is not yet listening. */
async function fetchWhenUp(url: string, timeoutMs = 20_000): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

let tmp: TempDir;
let www: string;
before(() => {
  tmp = tempDir('capsule-wasix-');
  www = path.join(tmp.path, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, 'index.html'), PAGE_TEXT);
});
after(() => tmp.cleanup());

for (const mode of MODES) {
  describe(`WASIX toolchain programs (${mode} mode)`, () => {
    it('a printf-only hello runs: its shared memory is imported, libc start-up calls are provided', async () => {
      const r = await runCli(['run', '--mode', mode, wasix('wasix_hello')]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'hello from wasix\n', '']);
    });

    it('ids, signals, timers, dup, pipes, eventfd, epoll and the working directory behave as POSIX says', async () => {
      const data = fs.mkdtempSync(path.join(tmp.path, 'calls-'));
      const r = await runCli(['run', '--mode', mode, '--dir', `${data}::/data`, wasix('wasix_calls'), '--', '/data']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout), [
        'pid 1 ppid 0',
        'thread-local initial value 42',
        'handler ran for 10',
        'SIGCHLD ignored',
        'alarms >= 3: yes',
        'dup above: yes, high 20 cloexec 1, plain cloexec 0',
        'set cloexec 1',
        'pipe read 16: through the pipe',
        'empty pipe: -1 EAGAIN',
        'epoll timeout: 0 events after >= 90 ms: yes',
        'level: 1 IN data 1234',
        'level again: 1',
        'edge: 1 then 0 more data 1',
        'oneshot: 1 then 0 rearmed 1',
        'ctl add twice: refused',
        'eventfd: 7',
        'cwd /',
        'cwd /data/sub',
        'relative open: ok',
        'chdir outside the mounts: No such file or directory',
        'chdir ..: 0',
        'cwd /data',
      ]);
      assert.equal(fs.readFileSync(path.join(data, 'sub', 'relative.txt'), 'utf8'), 'written relative to the working directory\n');
    });

    for (const [sig, code, name] of [[15, 143, 'SIGTERM'], [10, 138, 'SIGUSR1'], [6, 134, 'SIGABRT']] as const) {
      it(`a ${name} the program has no handler for ends it with ${code} (128+${sig})`, async () => {
        const r = await runCli(['run', '--mode', mode, wasix('wasix_signal_default'), '--', String(sig)]);
        assert.equal(r.code, code, r.stderr);
        assert.equal(r.stdout, `raising ${sig}\n`);
        assert.match(r.stderr, new RegExp(`ended by ${name}`));
      });
    }

    it('a signal ignored by default (SIGCHLD) does not end it', async () => {
      const r = await runCli(['run', '--mode', mode, wasix('wasix_signal_default'), '--', '17']);
      assert.deepEqual([r.code, r.stdout], [0, 'raising 17\nstill running\n']);
    });
  });
}

describe('WASIX signals without a libc', () => {
  it('thread_signal with no callback registered takes the default action: 128+N', async () => {
    const I = ValType.I32;
    const bytes = wasmModule({
      types: [{ params: [], results: [] }, { params: [I, I], results: [I] }],
      imports: [{ module: 'env', name: 'memory', kind: 'memory', min: 1 }, { module: 'wasix_32v1', name: 'thread_signal', kind: 'func', type: 1 }],
      funcs: [{ type: 0, body: [...op.i32Const(1), ...op.i32Const(15), ...op.call(0), ...op.drop] }],
      exports: [{ name: '_start', kind: 'func', index: 1 }],
    });
    const file = path.join(tmp.path, 'raw-signal.wasm');
    fs.writeFileSync(file, bytes);
    const r = await runCli(['run', file]);
    assert.equal(r.code, 143, r.stderr);
  });
});

describe('darkhttpd, a real static HTTP server built unmodified', () => {
  for (const mode of MODES) {
    const how = mode === 'secure' ? 'through --publish' : 'on its own port, a host port in normal mode';
    it(`serves files from a read-only mount to the host ${how} (${mode} mode)`, { timeout: 60_000 }, async () => {
      const port = await freePort();
      const server = startCli(mode === 'secure'
        ? ['run', '--dir', `${www}::/www:ro`, '--publish', `127.0.0.1:${port}:8080`, wasix('darkhttpd'), '--', '/www', '--port', '8080']
        : ['run', '--mode', 'normal', '--dir', `${www}::/www:ro`, wasix('darkhttpd'), '--', '/www', '--port', String(port)]);
      try {
        const page = await fetchWhenUp(`http://127.0.0.1:${port}/index.html`);
        assert.equal(page.status, 200);
        assert.equal(await page.text(), PAGE_TEXT);
        const listing = await fetch(`http://127.0.0.1:${port}/`);
        assert.equal(listing.status, 200);
        const missing = await fetch(`http://127.0.0.1:${port}/no-such-file`);
        assert.equal(missing.status, 404);
        await missing.text();
        // Out of the mount: the server refuses, and the guest could not reach it anyway.
        const escape = await fetch(`http://127.0.0.1:${port}/../../etc/passwd`);
        assert.notEqual(await escape.text(), fs.readFileSync('/etc/passwd', 'utf8'));
        await server.waitFor('"GET /index.html HTTP/1.1" 200');
      } finally {
        const exit = await server.stop('SIGTERM');
        assert.equal(exit.code, 143, server.stderr());
      }
    });
  }

  for (const mode of MODES) {
  const where = mode === 'secure' ? 'on the virtual network' : 'through the host\'s loopback, a guest name resolving to it';
  it(`is reached by name from another guest ${where}: testminiwget, a real HTTP client, fetches a page (${mode} mode)`, { timeout: 60_000 }, async () => {
    const out = fs.mkdtempSync(path.join(tmp.path, 'out-'));
    const layer = new Layer({ mode });
    // Normal mode: the guest's port is a host port, so one that is free.
    const port = mode === 'secure' ? 8080 : await freePort();
    layer.addGuest('web');
    layer.addGuest('client');
    const stop = new AbortController();
    const web = watchedOutput();
    const served = run(wasix('darkhttpd'), { layer, mode, name: 'web', args: ['/www', '--port', String(port)],
      dirs: [{ host: www, guest: '/www', readOnly: true }], stdout: web.stream, stderr: 'capture', signal: stop.signal });
    try {
      // The server's "listening" line sits in its stdio buffer (stdout is a pipe): the client tries until it is up.
      const fetchOnce = () => run(wasix('testminiwget'), { layer, mode, name: 'client', args: [`http://web:${port}/index.html`, '/out/got.html'],
        dirs: [{ host: out, guest: '/out' }], stdout: 'capture', stderr: 'capture' });
      let client = await fetchOnce();
      for (let i = 0; i < 50 && client.exitCode !== 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        client = await fetchOnce();
      }
      assert.equal(client.exitCode, 0, client.stderr?.toString());
      assert.equal(fs.readFileSync(path.join(out, 'got.html'), 'utf8'), PAGE_TEXT);
      assert.match(client.stdout!.toString(), new RegExp(`${PAGE_TEXT.length} bytes written to /out/got.html`));
      // The server logs the request once it has seen the client's connection close, which may be after the client's run resolved.
      await web.waitFor('"GET /index.html HTTP/1.1" 200', 10_000);
    } finally {
      stop.abort();
      await served;
      assert.match(web.text(), /"GET \/index.html HTTP\/1.1" 200/);
      layer.close();
    }
  });
  }
});

// `capsule up` in normal mode: guests' sockets are host sockets, so a guest's
// name resolves to the host's loopback and its ports are host ports.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { freePort, systemGuest, writeSystem } from '../helpers/net.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-system-normal-'); });
after(() => dir.cleanup());

describe('capsule up --mode normal', () => {
  it('a client reaches its server by name, and the server\'s port is a host port', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const file = writeSystem(dir.path, {
      mode: 'normal',
      guests: [
        systemGuest('server', 'echo_server', [String(port), '2']),
        systemGuest('client', 'echo_client', ['server', String(port), 'by-name']),
      ],
    });
    const up = runCli(['up', file], { timeoutMs: 45_000 });
    // The second connection comes from the host itself, to the same port.
    let reply = '';
    for (let i = 0; i < 200 && reply === ''; i++) {
      reply = await new Promise<string>((resolve) => {
        const c = net.connect(port, '127.0.0.1');
        let got = '';
        c.on('connect', () => c.end('from-host'));
        c.on('data', (d: Buffer) => { got += d.toString(); });
        c.on('close', () => resolve(got));
        c.on('error', () => resolve(''));
      });
      if (reply === '') await new Promise((r) => setTimeout(r, 100));
    }
    const r = await up;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(reply, 'from-host');
    assert.match(r.stdout, /^client \| echo: by-name$/m);
    assert.match(r.stdout, /^server \| connection \d from 127\.0\.0\.1 echoed 7 bytes$/m);
  });
});

// `capsule up` in normal mode: guests use host sockets, so a guest's name
// resolves to the host's loopback and the ports a guest listens on are host
// ports; guests still reach each other by name.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { freePort, systemGuest, writeSystem } from '../helpers/net.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-system-normal-'); });
after(() => dir.cleanup());

describe('capsule up in normal mode', () => {
  it('an echo server and a client that names it: the name is the host loopback, the port a host port', { timeout: 60_000 }, async () => {
    const port = String(await freePort());
    const file = writeSystem(dir.path, {
      mode: 'normal',
      guests: [
        systemGuest('server', 'echo_server', [port, '1']),
        systemGuest('client', 'echo_client', ['server', port, 'over the host loopback']),
      ],
    }, 'normal.json');
    const r = await runCli(['up', file], { timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const served = lines(r.stdout).filter((l) => l.startsWith('server'));
    assert.ok(served.some((l) => /from 127\.0\.0\.1 echoed 22 bytes/.test(l)), r.stdout);
  });
});

// --publish on an IPv6 host address ([::1]:HOST_PORT:GUEST_PORT), for
// `capsule run` and for a guest of `capsule up`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { freePort, hostRoundTrip, startCli, systemGuest, writeSystem } from '../helpers/net.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-publish-v6-'); });
after(() => dir.cleanup());

describe('--publish [::1]:HOST_PORT:GUEST_PORT', () => {
  it('capsule run: a host client on ::1 reaches the guest', { timeout: 30_000 }, async () => {
    const port = await freePort('::1');
    const cli = startCli(['run', '--publish', `[::1]:${port}:7000`, guest('echo_server'), '7000', '1']);
    try {
      await cli.waitFor('listening on 7000\n');
      const reply = await hostRoundTrip(port, 'over ipv6', { host: '::1', halfClose: true });
      assert.equal(reply.toString(), 'over ipv6');
      assert.equal((await cli.exited).code, 0);
    } finally {
      cli.dispose();
    }
  });

  it('capsule up: a guest published on ::1', { timeout: 30_000 }, async () => {
    const port = await freePort('::1');
    const file = writeSystem(dir.path, { guests: [systemGuest('web', 'echo_server', ['7000', '1'], { publish: [`[::1]:${port}:7000`] })] });
    const up = startCli(['up', file]);
    try {
      await up.waitFor('web | listening on 7000\n');
      const reply = await hostRoundTrip(port, 'system v6', { host: '::1', halfClose: true });
      assert.equal(reply.toString(), 'system v6');
      assert.equal((await up.exited).code, 0);
    } finally {
      up.dispose();
    }
  });

  it('an unbracketed IPv6 address: exit 64, one line saying to bracket it', async () => {
    const r = await runCli(['run', '--publish', '::1:8080:7000', guest('hello')]);
    assert.equal(r.code, 64, r.stderr);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /IPv6 address goes in brackets/);
  });
});

// CAPSULE_TRACE=1 logs every guest call — preview 1 and the WASIX socket
// calls alike — one line each, naming the guest, the module and the call.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MODES, guest, lines, runCli } from '../helpers/cli.js';

describe('CAPSULE_TRACE', () => {
  for (const mode of MODES) {
    it(`names the guest and covers the WASIX socket calls (${mode})`, async () => {
      const r = await runCli(['run', '--mode', mode, '--name', 'six', guest('v6_check'), 'local', '7500'], { env: { ...process.env, CAPSULE_TRACE: '1' } });
      assert.equal(r.code, 0, r.stderr);
      const traced = lines(r.stderr).filter((l) => l.startsWith('[capsule trace] '));
      for (const call of ['wasix_32v1.sock_open', 'wasix_32v1.sock_bind', 'wasix_32v1.sock_listen', 'wasix_32v1.sock_connect', 'wasi_snapshot_preview1.fd_write']) {
        assert.ok(traced.some((l) => l.startsWith(`[capsule trace] six: ${call}(`)), `no ${call} line in:\n${traced.join('\n')}`);
      }
      assert.ok(traced.every((l) => /^\[capsule trace\] six: (wasix_32v1|wasi_snapshot_preview1)\.\w+\(.*\) -> .+$/.test(l)), traced.join('\n'));
    });
  }

  it('is silent without the variable', async () => {
    const env = { ...process.env };
    delete env['CAPSULE_TRACE'];
    const r = await runCli(['run', guest('v6_check'), 'local', '7500'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /capsule trace/);
  });
});

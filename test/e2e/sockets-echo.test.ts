// `capsule up` end to end: an echo server and clients on one virtual network,
// prefixed output, exit status of a system, and system-file errors (78, 66).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { guest, lines, runCli, tempDir, type TempDir } from '../helpers/cli.js';
import { systemGuest, writeSystem } from '../helpers/net.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-sockets-echo-'); });
after(() => dir.cleanup());

describe('capsule up: guests talk by name', () => {
  it('an echo server and two clients: prefixed lines, echoed text, exit 0', { timeout: 60_000 }, async () => {
    const file = writeSystem(dir.path, {
      guests: [
        systemGuest('server', 'echo_server', ['7000', '2']),
        systemGuest('client-one', 'echo_client', ['server', '7000', 'first message']),
        systemGuest('client-two', 'echo_client', ['server.', '7000', 'second, longer message']),
      ],
    }, 'echo.json');
    const r = await runCli(['up', file], { timeoutMs: 50_000 });
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(r.stderr, '');
    const out = lines(r.stdout);
    // Names are padded to the longest ("client-one"/"client-two": 10 characters).
    assert.ok(out.includes('server     | listening on 7000'), r.stdout);
    assert.ok(out.includes('client-one | echo: first message'), r.stdout);
    assert.ok(out.includes('client-two | echo: second, longer message'), r.stdout);
    const served = out.filter((l) => l.startsWith('server     | connection '));
    assert.equal(served.length, 2, r.stdout);
    // Each client comes from its own address: client-one is 10.89.0.3, client-two 10.89.0.4.
    const bytes = served.map((l) => /from (10\.89\.0\.\d+) echoed (\d+) bytes/.exec(l)?.slice(1)).sort();
    assert.deepEqual(bytes, [['10.89.0.3', '13'], ['10.89.0.4', '22']]);
    for (const l of out) assert.match(l, /^(server    |client-one|client-two) \| /, `unprefixed line: ${l}`);
  });

  it('a system in which one guest exits 3 exits 3 (onFailure "continue": the others run on)', { timeout: 30_000 }, async () => {
    const file = writeSystem(dir.path, {
      onFailure: 'continue',
      guests: [systemGuest('fine', 'hello'), systemGuest('failing', 'exit_code', ['3'])],
    }, 'exit3.json');
    const r = await runCli(['up', file]);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(lines(r.stdout).includes('failing | exiting with 3'), r.stdout);
    assert.ok(lines(r.stdout).includes('fine    | hello from capsule'), r.stdout);
  });
});

describe('capsule up: bad system files', () => {
  const bad: [string, unknown, RegExp][] = [
    ['an unknown field', { guests: [{ name: 'a', module: guest('hello'), colour: 'red' }] }, /guests\[0\].*colour/],
    ['a missing module', { guests: [{ name: 'a' }] }, /guests\[0\]\.module/],
    ['a duplicate name', { guests: [{ name: 'a', module: guest('hello') }, { name: 'a', module: guest('hello') }] }, /guests\[1\]\.name: 'a'/],
    ['a wrong type', { guests: [{ name: 'a', module: guest('hello'), args: 'x' }] }, /guests\[0\]\.args/],
    ['a bad name', { guests: [{ name: 'Not_A_Host', module: guest('hello') }] }, /guests\[0\]\.name/],
    ['no guests', { guests: [] }, /guests/],
    ['an unknown top-level field', { guests: [{ name: 'a', module: guest('hello') }], volumes: [] }, /volumes/],
    ['a bad publish rule', { guests: [{ name: 'a', module: guest('hello'), publish: ['nope'] }] }, /'nope'/],
    ['not JSON', '{ "guests": [', /not valid JSON/],
  ];
  for (const [what, spec, message] of bad) {
    it(`${what}: exit 78 with one line naming the problem`, async () => {
      const file = writeSystem(dir.path, spec, `bad-${what.replace(/\W+/g, '-')}.json`);
      const r = await runCli(['up', file]);
      assert.equal(r.code, 78, r.stderr);
      assert.equal(r.stdout, '');
      const err = lines(r.stderr);
      assert.equal(err.length, 1, r.stderr);
      assert.match(err[0]!, /^capsule: /);
      assert.ok(err[0]!.includes(file), `the line names the file: ${err[0]}`);
      assert.match(err[0]!, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('a module file that does not exist: exit 66, naming it', async () => {
    const file = writeSystem(dir.path, { guests: [systemGuest('a', 'hello'), { name: 'b', module: 'missing.wasm' }] }, 'missing.json');
    const r = await runCli(['up', file]);
    assert.equal(r.code, 66, r.stderr);
    assert.equal(r.stdout, '', 'no guest starts when one module is missing');
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /missing\.wasm.*no such file/);
  });

  it('a system file that does not exist: exit 66', async () => {
    const r = await runCli(['up', `${dir.path}/nowhere.json`]);
    assert.equal(r.code, 66);
    assert.match(r.stderr, /^capsule: cannot read system file .*nowhere\.json.*no such file\n$/);
  });
});

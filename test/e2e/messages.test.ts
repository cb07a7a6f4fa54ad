// Error messages that teach: each common mistake gets one line on stderr
// that names the cause and the fix, and its documented exit code.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, guest, lines, runCli, tempDir, type CliResult } from '../helpers/cli.js';

const tmp = tempDir('capsule-messages-');
after(() => tmp.cleanup());

function file(name: string, text: string): string {
  const p = path.join(tmp.path, name);
  fs.writeFileSync(p, text);
  return p;
}

/** The run failed with exactly one stderr line, matching `pattern`, and exit code `code`. */
function oneLine(r: CliResult, code: number, pattern: RegExp): string {
  const l = lines(r.stderr);
  assert.equal(l.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(l[0]!, /^capsule: /);
  assert.match(l[0]!, pattern);
  assert.equal(r.code, code, r.stderr);
  return l[0]!;
}

describe('messages that teach', () => {
  it('an unknown command is one line and suggests the nearest', async () => {
    oneLine(await runCli(['rn', guest('hello')]), 64, /^capsule: unknown command 'rn': did you mean run\? \(see capsule --help\)$/);
  });

  it('an unknown option is one line and suggests the nearest', async () => {
    oneLine(await runCli(['run', '--dri', 'x', guest('hello')]), 64, /unknown option '--dri': did you mean --dir\?/);
  });

  it('--dir data:/data suggests ::', async () => {
    oneLine(await runCli(['run', '--dir', 'data:/data', guest('hello')]), 64, /--dir 'data:\/data': .*separate them with '::' \(data::\/data\)/);
    oneLine(await runCli(['run', '--dir', 'data:/data:ro', guest('hello')]), 64, /--dir 'data:\/data:ro': .*separate them with '::' \(data::\/data:ro\)/);
  });

  it('a typo in a policy key suggests the nearest field, at any depth', async () => {
    const top = file('top.json', '{ "version": 1, "limts": { "memory": "1MiB" } }');
    oneLine(await runCli(['run', '--policy', top, guest('hello')]), 78, /top\.json: \(top level\): unknown field 'limts' \(did you mean 'limits'\?\)$/);
    const mount = file('mount.json', '{ "mounts": [{ "host": ".", "guest": "/d", "readonly": true }] }');
    oneLine(await runCli(['run', '--policy', mount, guest('hello')]), 78, /mounts\[0\]: unknown field 'readonly' \(did you mean 'readOnly'\?\)$/);
    const limit = file('limit.json', '{ "limits": { "maxFd": 10 } }');
    oneLine(await runCli(['run', '--policy', limit, guest('hello')]), 78, /limits: unknown field 'maxFd' \(did you mean 'maxFds'\?\)$/);
    // Nothing close: the known fields are listed instead of a wild guess.
    const far = file('far.json', '{ "network": { "zzzzzzzz": true } }');
    oneLine(await runCli(['run', '--policy', far, guest('hello')]), 78, /network: unknown field 'zzzzzzzz' \(known: allowConnect, denyConnect, allowDns, publish\)$/);
  });

  it('a typo in a system file key suggests the nearest field', async () => {
    const sys = file('system.json', JSON.stringify({ guests: [{ name: 'a', module: guest('hello'), argz: [] }] }));
    oneLine(await runCli(['up', sys]), 78, /guests\[0\]: unknown field 'argz' \(did you mean 'args'\?\)$/);
  });

  it('a JSON syntax error gives line and column', async () => {
    const bad = file('syntax.json', '{\n  "version": 1,\n  "mounts": [,]\n}\n');
    oneLine(await runCli(['run', '--policy', bad, guest('hello')]), 78, /syntax\.json: not valid JSON: line 3, column 14: value expected, found ','$/);
    const trailing = file('trailing.json', '{\n  "env": { "A": "1", }\n}');
    oneLine(await runCli(['run', '--policy', trailing, guest('hello')]), 78, /line 2, column 22: property name expected, found '}'$/);
    const empty = file('empty.json', '');
    oneLine(await runCli(['run', '--policy', empty, guest('hello')]), 78, /line 1, column 1: value expected, found the end of the file$/);
    const sys = file('sys-syntax.json', '{ "guests": [ { "name": "a" "module": "m.wasm" } ] }');
    oneLine(await runCli(['up', sys]), 78, /sys-syntax\.json: not valid JSON: line 1, column 29: comma expected, found '"module"'$/);
  });

  it('an escape through .. never suggests mounting a system directory', async () => {
    const data = path.join(tmp.path, 'data');
    fs.mkdirSync(data, { recursive: true });
    const wordcount = path.join(ROOT, 'examples/wordcount/wordcount.wasm');
    for (const target of ['/data/../../etc/passwd', '/data/../proc/self/environ', '/data/../../', '/data/../usr/lib/x']) {
      const r = await runCli(['run', '--dir', `${data}::/data:ro`, wordcount, target]);
      const said = lines(r.stderr).filter((l) => l.startsWith('capsule: '));
      assert.equal(said.length, 1, r.stderr);
      assert.match(said[0]!, /the path leads outside its mount \('\.\.' cannot climb out of a mounted directory\)$/);
      assert.doesNotMatch(said[0]!, /--dir/);
    }
    // A directory of the guest's own still gets the grant that would allow it.
    const r = await runCli(['run', '--dir', `${data}::/data:ro`, wordcount, '/data/../config/x']);
    assert.match(r.stderr, /^capsule: .*a mount such as --dir HOST::\/config would grant it\)$/m);
  });

  it('--env-file: variables reach the guest, --env wins, a bad line is named', async () => {
    const env = file('app.env', '# settings\nexport A=1\nB="two words"\nC=from-file\n');
    const r = await runCli(['run', '--env-file', env, '--env', 'C=from-flag', guest('hello')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('env ')), ['env A=1', 'env B=two words', 'env C=from-flag']);
    const bad = file('bad.env', 'A=1\nthis line has no equals sign\n');
    oneLine(await runCli(['run', '--env-file', bad, guest('hello')]), 78, /bad\.env: line 2: expected NAME=VALUE$/);
    oneLine(await runCli(['run', '--env-file', path.join(tmp.path, 'missing.env'), guest('hello')]), 66, /cannot read env file '.*missing\.env': no such file$/);
  });
});

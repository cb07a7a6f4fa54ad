// The --env-file format: what dotenv readers accept is read the same way;
// a line they would skip is refused with its number.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnvFile } from '../../src/policy/env-file.js';

function vars(text: string): Record<string, string> {
  const r = parseEnvFile(text);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.value;
}

function refusal(text: string): string {
  const r = parseEnvFile(text);
  assert.ok(!r.ok, `accepted: ${JSON.stringify(r)}`);
  return r.message;
}

describe('env files', () => {
  it('reads bare, quoted, exported and commented lines', () => {
    assert.deepEqual(vars([
      '# a comment', '', '  ', 'A=1', 'export B = two words  ', 'C=x # a comment', 'D=x#not-a-comment',
      "E='$HOME \\n # kept'", 'F="a\\tb\\n\\"q\\" \\\\"  # comment', 'G=', 'H.I_2=ok', '\r',
    ].join('\n')), {
      A: '1', B: 'two words', C: 'x', D: 'x#not-a-comment', E: '$HOME \\n # kept', F: 'a\tb\n"q" \\', G: '', 'H.I_2': 'ok',
    });
  });

  it('takes CRLF files and a byte-order mark', () => {
    assert.deepEqual(vars('\uFEFFA=1\r\nB=2\r\n'), { A: '1', B: '2' });
  });

  it('a later line wins, and every name is an own entry', () => {
    const env = vars('A=1\nA=2\n__proto__=x\nconstructor=y');
    assert.equal(env['A'], '2');
    assert.equal(Object.getPrototypeOf(env), Object.prototype);
    assert.deepEqual(Object.keys(env), ['A', '__proto__', 'constructor']);
    assert.equal(Object.getOwnPropertyDescriptor(env, '__proto__')?.value, 'x');
  });

  it('refuses what it cannot read, naming the line', () => {
    assert.equal(refusal('A=1\njust words'), 'line 2: expected NAME=VALUE');
    assert.equal(refusal('=x'), 'line 1: expected NAME=VALUE');
    assert.match(refusal('A=1\n\n1A=x'), /^line 3: '1A' is not a variable name/);
    assert.match(refusal('A-B=x'), /^line 1: 'A-B' is not a variable name/);
    assert.equal(refusal('A="open\nB=2'), 'line 1: A: the value has no closing " (a value is one line)');
    assert.equal(refusal("A='open"), "line 1: A: the value has no closing ' (a value is one line)");
    assert.equal(refusal('A="x" y'), "line 1: A: text after the closing \": 'y'");
    assert.equal(refusal('A=a\0b'), 'line 1: A: the value contains a NUL byte');
  });
});

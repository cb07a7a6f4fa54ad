// Every socket test guest (test/guests/src/net/*.c) is built next to the
// others and used by at least one socket test, so none goes stale unnoticed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';

const SOURCES = path.join(ROOT, 'test', 'guests', 'src', 'net');
const TESTS = path.join(ROOT, 'test', 'e2e');

describe('socket test guests', () => {
  const names = fs.readdirSync(SOURCES).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).sort();
  const tests = fs.readdirSync(TESTS).filter((f) => /^sockets-.*\.test\.ts$/.test(f))
    .map((f) => fs.readFileSync(path.join(TESTS, f), 'utf8')).join('\n');

  it('there are sources to check', () => {
    assert.ok(names.includes('echo_server') && names.includes('many_client'), names.join(', '));
  });

  for (const name of names) {
    it(`${name}: built as test/guests/${name}.wasm and used by a sockets-*.test.ts`, () => {
      const wasm = path.join(ROOT, 'test', 'guests', `${name}.wasm`);
      assert.ok(fs.existsSync(wasm), `${name}.wasm is missing: run scripts/build-net-guests.sh`);
      const bytes = fs.readFileSync(wasm);
      assert.ok(WebAssembly.validate(bytes), `${name}.wasm is not valid WebAssembly`);
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
      assert.ok(imports.some((i) => i.module === 'wasix_32v1'), `${name}.wasm imports no socket call`);
      assert.match(tests, new RegExp(`'${name}'`), `no socket test uses '${name}'`);
    });
  }
});

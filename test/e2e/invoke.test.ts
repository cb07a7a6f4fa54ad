// `--invoke NAME [args]`: a module's exported function called instead of
// `_start`, its arguments read per parameter type, its results printed as
// wasmtime prints them; every mistake is one line. Also through run().

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CapsuleError, run } from '../../src/api/index.js';
import { formatWasmValue, parseWasmArg } from '../../src/module/invoke.js';
import { MODES, ROOT, guest, lines, runCli } from '../helpers/cli.js';

const calc = guest('calc');
const invoke = (name: string, ...args: string[]) => runCli(['run', '--invoke', name, calc, ...args]);

describe('--invoke', () => {
  for (const mode of MODES) {
    it(`calls a function of each value type and prints its results (${mode})`, async () => {
      const cases: [string, string[], string][] = [
        ['add', ['2', '-5'], '-3\n'],
        ['mul64', ['9223372036854775807', '-1'], '-9223372036854775807\n'],
        ['halve', ['0.2'], '0.1\n'],
        ['div', ['1', '3'], '0.3333333333333333\n'],
        ['div', ['1e20', '1'], '100000000000000000000\n'],
        ['div', ['-1', '0'], '-inf\n'],
        ['swap', ['7', '-8'], '-8\n7\n'],
        ['nothing', [], ''],
        // _initialize ran before the call.
        ['initialized', [], '42\n'],
        // WASI works in the called function.
        ['say', [], 'invoked\n0\n'],
      ];
      for (const [name, args, out] of cases) {
        const r = await runCli(['run', '--mode', mode, '--invoke', name, calc, ...args]);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.equal(r.stdout, out, name);
        assert.equal(r.stderr, '', name);
      }
    });
  }

  it('a trap in the function is the guest trapping', async () => {
    const r = await invoke('crash');
    assert.equal(r.code, 101);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /trapped: unreachable/);
  });

  it('every mistake is one line with exit code 64', async () => {
    const refused: [string[], RegExp][] = [
      [['nope'], /--invoke: '.*calc\.wasm' exports no function 'nope' \(it exports: _initialize, initialized, add, /],
      [['add', '1'], /--invoke add: takes 2 arguments \(i32, i32\), 1 given$/],
      [['add', '1', 'x'], /--invoke add: argument 2: 'x' is not an i32$/],
      [['add', '1', '2147483648'], /--invoke add: argument 2: '2147483648' is out of range for i32$/],
      [['add', '1', '1.5'], /argument 2: '1\.5' is not an i32$/],
      [['halve', '0x10'], /argument 1: '0x10' is not a f32$/],
      [['ref', 'x'], /--invoke: 'ref' cannot be called with command-line values: its parameter 1 is externref$/],
    ];
    for (const [args, pattern] of refused) {
      const r = await invoke(args[0]!, ...args.slice(1));
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), pattern);
    }
  });

  it('a module without _start says --invoke can call its functions', async () => {
    const r = await runCli(['run', calc]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /has no _start function: it is not a WASI command module \(to call one of its functions: --invoke initialized, add, mul64, halve, div, \.\.\.\)\n$/);
  });

  it('a module that can start threads is refused --invoke (64): its threads start from _start only', async () => {
    const r = await runCli(['run', '--invoke', 'main', path.join(ROOT, 'test', 'guests', 'wasix', 'threads.wasm')]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /^capsule: --invoke: '.*threads\.wasm' can start threads, and a threaded guest runs only from _start\n$/);
  });

  it('run() takes invoke with numbers, bigints or text, and returns typed results', async () => {
    const r = await run(calc, { invoke: { name: 'swap', args: [3, -4n] } });
    assert.deepEqual(r.results, [{ type: 'i64', value: -4n }, { type: 'i32', value: 3 }]);
    const f = await run(calc, { invoke: { name: 'div', args: ['1', 4] } });
    assert.deepEqual(f.results, [{ type: 'f64', value: 0.25 }]);
    await assert.rejects(run(calc, { invoke: { name: 'add', args: [1] } }),
      (e: unknown) => e instanceof CapsuleError && e.exitCode === 64 && /takes 2 arguments/.test(e.message));
  });

  it('reads and prints values as wasmtime does', () => {
    assert.deepEqual(parseWasmArg('i32', '-2147483648'), { ok: true, value: -2147483648 });
    assert.equal(parseWasmArg('i32', '2147483648').ok, false);
    assert.deepEqual(parseWasmArg('i64', '-9223372036854775808'), { ok: true, value: -9223372036854775808n });
    assert.equal(parseWasmArg('i64', '9223372036854775808').ok, false);
    assert.deepEqual(parseWasmArg('f64', '-inf'), { ok: true, value: -Infinity });
    assert.ok(Number.isNaN(parseWasmArg('f32', 'NaN').ok && (parseWasmArg('f32', 'NaN') as { value: number }).value));
    assert.equal(parseWasmArg('f64', '').ok, false);
    assert.equal(formatWasmValue({ type: 'f32', value: Math.fround(0.1) }), '0.1');
    assert.equal(formatWasmValue({ type: 'f64', value: 1e-7 }), '0.0000001');
    assert.equal(formatWasmValue({ type: 'f64', value: 2.5e21 }), '2500000000000000000000');
    assert.equal(formatWasmValue({ type: 'f64', value: -0 }), '-0');
    assert.equal(formatWasmValue({ type: 'f64', value: NaN }), 'NaN');
    assert.equal(formatWasmValue({ type: 'i64', value: -1n }), '-1');
  });
});

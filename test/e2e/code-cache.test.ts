// The code cache of Capsule's own bundles (src/core/code-cache.ts): a first
// run leaves compiled code in the user's cache directory, later runs use it;
// an entry that is damaged, planted, or in a directory others can write is
// never used and never breaks a run.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { guest, runCli, tempDir, type CliResult } from '../helpers/cli.js';

const BUNDLES = ['capsule.cjs', 'worker.cjs'];

/** A run of hello with its cache in `cacheDir`: it must work whatever the cache holds. */
async function hello(cacheDir: string): Promise<CliResult> {
  const r = await runCli(['run', guest('hello')], { env: { ...process.env, CAPSULE_CACHE_DIR: cacheDir } });
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'hello from capsule\nargv[0]=hello.wasm\n');
  return r;
}

/** The cache entries of each bundle in `dir`: name -> file. */
function entries(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  if (!fs.existsSync(dir)) return found;
  for (const f of fs.readdirSync(dir)) {
    const bundle = BUNDLES.find((b) => f.startsWith(`${b}-`) && f.endsWith('.v8'));
    if (bundle) {
      assert.ok(!found.has(bundle), `one entry per bundle: ${fs.readdirSync(dir).join(', ')}`);
      found.set(bundle, path.join(dir, f));
    }
  }
  return found;
}

describe('the code cache of the bundles', () => {
  const tmp = tempDir('capsule-code-cache-');
  after(() => tmp.cleanup());

  it('a first run writes an entry per bundle, private to the user; the next uses them as they are', async () => {
    const cache = path.join(tmp.path, 'fresh');
    await hello(cache);
    const code = path.join(cache, 'code');
    assert.equal(fs.statSync(code).mode & 0o777, 0o700);
    const made = entries(code);
    assert.deepEqual([...made.keys()].sort(), BUNDLES);
    const before = new Map([...made].map(([b, f]) => {
      const st = fs.statSync(f);
      assert.equal(st.mode & 0o777, 0o600, f);
      assert.ok(st.size > 1000, `${f} holds compiled code (${st.size} bytes)`);
      return [b, { mtime: st.mtimeMs, ino: st.ino }];
    }));
    // Taken by V8 as it was: not written again. The enclave thread compiles its code while the host thread
    // may be compiling the module under other flags (for a moment), which V8 would not take an entry made under:
    // in one run of three at least, its entry is taken too.
    let unchanged = 0;
    for (let i = 0; i < 3; i++) {
      await hello(cache);
      const now = entries(code);
      const same = (b: string): boolean => {
        const st = fs.statSync(now.get(b)!);
        const was = before.get(b)!;
        before.set(b, { mtime: st.mtimeMs, ino: st.ino });
        return st.mtimeMs === was.mtime && st.ino === was.ino;
      };
      assert.ok(same('capsule.cjs'), "the CLI's entry was rejected and rewritten");
      if (same('worker.cjs')) unchanged++;
    }
    assert.ok(unchanged > 0, "the enclave's entry was rewritten by every run");
    // The bundle's own import() of a library loaded on use works from cached code (a policy's syntax error is located by one).
    const bad = path.join(tmp.path, 'bad.json');
    fs.writeFileSync(bad, '{\n  "env": {,\n}');
    const r = await runCli(['run', '--policy', bad, guest('hello')], { env: { ...process.env, CAPSULE_CACHE_DIR: cache } });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /bad\.json: not valid JSON: line 2, column 11: value expected, found ','\n$/);
  });

  it('damaged entries (garbage, cut short, empty) are ignored and remade', async () => {
    const cache = path.join(tmp.path, 'damaged');
    await hello(cache);
    const code = path.join(cache, 'code');
    const made = entries(code);
    const damage = [
      (f: string) => fs.writeFileSync(f, Buffer.alloc(fs.statSync(f).size, 0xa5)),
      (f: string) => fs.truncateSync(f, 100),
      (f: string) => fs.truncateSync(f, 0),
    ];
    for (const hurt of damage) {
      for (const f of made.values()) hurt(f);
      const damaged = new Map([...made].map(([b, f]) => [b, fs.readFileSync(f)]));
      await hello(cache);
      for (const [b, f] of entries(code)) {
        assert.notDeepEqual(fs.readFileSync(f), damaged.get(b), `${b}'s damaged entry was remade`);
        assert.ok(fs.statSync(f).size > 1000);
      }
    }
  });

  it("an entry that is a symbolic link is not followed; one planted as another user's file is not read", async () => {
    const cache = path.join(tmp.path, 'planted');
    await hello(cache);
    const code = path.join(cache, 'code');
    const target = path.join(tmp.path, 'elsewhere.bin');
    fs.writeFileSync(target, 'not compiled code');
    for (const f of entries(code).values()) {
      fs.rmSync(f);
      fs.symlinkSync(target, f);
    }
    await hello(cache);
    assert.equal(fs.readFileSync(target, 'utf8'), 'not compiled code', 'the link target is untouched');
    for (const f of entries(code).values()) assert.ok(fs.lstatSync(f).isFile(), `${f} was replaced by a file of its own`);
    // Only root can give a file away: then the entry is another user's, and it is remade as ours.
    if (process.getuid?.() === 0) {
      for (const f of entries(code).values()) fs.chownSync(f, 65534, 65534);
      await hello(cache);
      for (const f of entries(code).values()) assert.equal(fs.statSync(f).uid, 0, `${f} was remade`);
    }
  });

  it('a cache directory others can write is not used at all; one that cannot be made is no failure either', async () => {
    const open = path.join(tmp.path, 'open');
    fs.mkdirSync(path.join(open, 'code'), { recursive: true });
    fs.chmodSync(path.join(open, 'code'), 0o777);
    await hello(open);
    assert.deepEqual([...entries(path.join(open, 'code')).keys()], [], 'nothing written into a directory others can write');
    fs.chmodSync(path.join(open, 'code'), 0o700);
    fs.chmodSync(open, 0o777);
    await hello(open);
    assert.deepEqual([...entries(path.join(open, 'code')).keys()], [], 'nor below one');

    const file = path.join(tmp.path, 'a-file');
    fs.writeFileSync(file, '');
    await hello(file);
    assert.equal(fs.readFileSync(file, 'utf8'), '');
  });

  it('CAPSULE_CODE_CACHE=0 turns it off', async () => {
    const cache = path.join(tmp.path, 'off');
    const r = await runCli(['run', guest('hello')], { env: { ...process.env, CAPSULE_CACHE_DIR: cache, CAPSULE_CODE_CACHE: '0' } });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'hello from capsule\nargv[0]=hello.wasm\n');
    assert.equal(fs.existsSync(path.join(cache, 'code')), false);
  });
});

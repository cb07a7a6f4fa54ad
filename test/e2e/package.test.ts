// The package as a user gets it: `npm pack` the repository, install the
// tarball into a fresh project as npm installs it (its dependencies come from
// npm's cache, which `npm ci` filled, or else from the registry), then run
// the installed `capsule` on the bundled example and use the API from
// JavaScript and TypeScript.

import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, tempDir } from '../helpers/cli.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

function sh(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd, encoding: 'utf8', timeout: 300_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe('the packed package, installed into a fresh project', () => {
  const tmp = tempDir('capsule-pack-');
  const app = path.join(tmp.path, 'app');
  const installed = path.join(app, 'node_modules', 'capsule');
  const bin = path.join(app, 'node_modules', '.bin', 'capsule');
  const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', timeout: 60_000 });

  before(() => {
    // --ignore-scripts: pack what is built; `prepare` would rebuild dist/ under the running tests.
    const tarball = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp.path], ROOT).stdout.trim().split('\n').pop()!;
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    sh('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(tmp.path, tarball)], app);
  });
  after(() => tmp.cleanup());

  it('holds the bundle, the licence and the example, and no tests', () => {
    for (const f of ['dist/bundle/capsule.cjs', 'dist/bundle/worker.cjs', 'dist/bundle/boot.cjs', 'dist/bundle/enclave.cjs', 'bin/package.json', 'dist/src/api/index.js',
      'dist/src/api/index.d.ts', 'LICENSE', 'README.md', 'examples/wordcount/wordcount.wasm']) {
      assert.ok(fs.existsSync(path.join(installed, f)), `${f} is not in the package`);
    }
    assert.match(fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
    assert.equal(fs.existsSync(path.join(installed, 'dist/test')), false, 'the tests were packed');
  });

  it('capsule --version and -V print the package version', () => {
    for (const flag of ['--version', '-V']) {
      const r = node([bin, flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
    }
  });

  it('capsule run runs the bundled example from the bundle', () => {
    const ex = path.join(installed, 'examples/wordcount');
    // A missing bundle would be taken silently (bin/capsule.js falls back to the tree): hide the tree to be sure.
    fs.renameSync(path.join(installed, 'dist/src'), path.join(installed, 'dist/src-hidden'));
    try {
      const r = node([bin, 'run', '--dir', `${path.join(ex, 'data')}::/data`, path.join(ex, 'wordcount.wasm'), '/data']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\/data\/proverbs\.txt/);
      assert.match(r.stdout, /^top: the \d+$/m);
    } finally {
      fs.renameSync(path.join(installed, 'dist/src-hidden'), path.join(installed, 'dist/src'));
    }
  });

  it('the API imports from JavaScript and runs a guest', () => {
    fs.writeFileSync(path.join(app, 'use.mjs'), `
import { run, ExitCode } from 'capsule';
const r = await run('node_modules/capsule/examples/wordcount/wordcount.wasm', {
  args: ['/data'], stdout: 'capture', dirs: [{ host: 'node_modules/capsule/examples/wordcount/data', guest: '/data', readOnly: true }],
});
process.stdout.write(JSON.stringify({ exitCode: r.exitCode, usage: typeof ExitCode.USAGE, out: r.stdout.toString() }));
`);
    const r = node(['use.mjs']);
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { exitCode: number; usage: string; out: string };
    assert.equal(got.exitCode, 0);
    assert.equal(got.usage, 'number');
    assert.match(got.out, /\/data\/river\.txt/);
  });

  it('the API type-checks from TypeScript, and a wrong use does not', () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const config = {
      compilerOptions: {
        module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true,
        skipLibCheck: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      },
      files: ['use.ts'],
    };
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(config));
    const good = [
      "import { Layer, run, type RunResult } from 'capsule';",
      "const layer = new Layer({ network: { allowConnect: ['api.example.com:443'], publish: ['8080:7000'] }, limits: { queueBytes: '1MiB' } });",
      "const r: RunResult = await run('m.wasm', { layer, limits: { memoryBytes: 1 << 20 } });",
      'layer.close();',
      'export const code: number = r.exitCode;',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(app, 'use.ts'), good);
    const ok = node([tsc, '-p', 'tsconfig.json']);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    // The check is real: a misspelt option is caught through the installed declarations.
    fs.writeFileSync(path.join(app, 'use.ts'), good.replace('memoryBytes', 'memoryByte'));
    const bad = node([tsc, '-p', 'tsconfig.json']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /memoryByte/);
    // The layer's insides are not part of the API.
    for (const inside of ['layer.net.table', "layer.join('g', new SharedArrayBuffer(16))", 'layer.audit']) {
      fs.writeFileSync(path.join(app, 'use.ts'), good.replace('layer.close();', `${inside};`));
      const hidden = node([tsc, '-p', 'tsconfig.json']);
      assert.notEqual(hidden.status, 0, `${inside} type-checks`);
      assert.match(hidden.stdout, /does not exist on type 'Layer'/);
    }
  });
});

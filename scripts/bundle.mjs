// Bundles the CLI, the enclave pool and the enclave thread into one
// CommonJS file each (dist/bundle/): Node loads one CommonJS file in a few
// milliseconds, against tens for a tree of ES modules, on every start of
// every thread. The library build (dist/src) is unchanged.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/** In a CommonJS bundle `require` exists: load ipaddr.js with it (node:module would cost start-up). */
const requireIpaddr = {
  name: 'require-ipaddr',
  setup(b) {
    b.onResolve({ filter: /\/ipaddr\.js$/ }, (args) => (args.importer.includes('/dist/src/') ? { path: 'ipaddr-loader', namespace: 'capsule' } : undefined));
    b.onLoad({ filter: /^ipaddr-loader$/, namespace: 'capsule' }, () => ({
      contents: "let lib; export function ipaddr() { return (lib ??= require('ipaddr.js')); }",
      loader: 'js',
    }));
  },
};

/**
 * Commander requires node:child_process at load for a feature Capsule does not
 * use (executable subcommands); with net, dgram and their kin that costs about
 * 10 ms of every start. It gets the module on first use instead.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (args.importer.includes('/node_modules/commander/') ? { path: 'child-process-on-use', namespace: 'capsule' } : undefined));
    b.onLoad({ filter: /^child-process-on-use$/, namespace: 'capsule' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // Loaded from node_modules only when needed: a policy or system file to check (or to locate its syntax error), an address to parse, a module to prepare.
  external: ['zod', 'ipaddr.js', 'jsonc-parser', 'binaryen', 'bullmq', 'ioredis', 'express', '@bull-board/*'],
  // The fleet's libraries (BullMQ, Redis, the HTTP server and dashboard) load only for its commands.
  plugins: [requireIpaddr, lazyChildProcess],
  // The sources are ES modules that locate files beside themselves.
  define: { 'import.meta.url': '__capsuleModuleUrl' },
  banner: { js: "const __capsuleModuleUrl = 'file://' + __filename.split('/').map(encodeURIComponent).join('/');" },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.cjs' },
};

/**
 * A dynamic import() cannot run inside vm.Script on Node 20 (without an
 * experimental flag), and the code cache loader (src/core/code-cache.ts)
 * runs the bundles that way: their few import() calls (of libraries loaded
 * on use) go through a function the loader hands in, or a plain import()
 * when the bundle is loaded by require().
 */
const DYNAMIC_IMPORT = "const __capsuleDynamicImport = typeof __capsuleImport === 'function' ? __capsuleImport : (s) => import(s);";

/** Builds one of the bundles the code cache loads; returns the hash of its content, part of its cache key. */
async function cachedBundle(name, entry) {
  const out = await build({ ...common, entryPoints: { [name]: entry }, banner: { js: `${common.banner.js}\n${DYNAMIC_IMPORT}` }, write: false });
  let hash;
  for (const f of out.outputFiles) {
    let calls = 0;
    const text = f.text.replace(/(?<![\w$.])import\("/g, () => { calls++; return '__capsuleDynamicImport("'; });
    if (calls !== (f.text.match(/\bimport\(/g) ?? []).length - 1) throw new Error(`${name}: an import() the build cannot redirect`);
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    fs.writeFileSync(f.path, text);
    hash = crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
  }
  return hash;
}

const hashes = {
  'capsule.cjs': await cachedBundle('capsule', 'dist/src/cli/entry.js'),
  'worker.cjs': await cachedBundle('worker', 'dist/src/enclave/worker.js'),
};
// What bin/capsule.js loads first (the enclave pool, to start a guest thread before the CLI loads, and the
// code cache loader), and the script an enclave thread starts with; they know the hashes of the bundles they load.
const boot = { ...common, define: { ...common.define, __CAPSULE_BUNDLE_HASHES: JSON.stringify(hashes) } };
await build({ ...boot, entryPoints: { boot: 'dist/src/boot/cli.js' } });
await build({ ...boot, entryPoints: { enclave: 'dist/src/boot/enclave.js' } });

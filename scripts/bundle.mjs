// Bundles the CLI, the enclave pool and the enclave thread into one
// CommonJS file each (dist/bundle/): Node loads one CommonJS file in a few
// milliseconds, against tens for a tree of ES modules, on every start of
// every thread. The library build (dist/src) is unchanged.
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

await build({ ...common, entryPoints: { capsule: 'dist/src/cli/entry.js' } });
// The enclave pool alone: bin/capsule.js loads it first, to start a guest thread before the CLI loads.
await build({ ...common, entryPoints: { pool: 'dist/src/enclave/pool.js' } });
await build({ ...common, entryPoints: { worker: 'dist/src/enclave/worker.js' } });

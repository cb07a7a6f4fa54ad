// Loading Capsule's own CommonJS bundles with a V8 code cache: the first run
// compiles them as usual and leaves the compiled code in the user's cache
// directory; later runs skip most parsing and compiling (Node 20 has no
// compile cache of its own). The cache is an aid, never a requirement: an
// entry that is missing, unreadable, rejected by V8 or in a directory others
// could write is ignored (and remade where it can be), so it cannot break a
// run. It holds trusted code of our own, so it is used only from a directory
// of this user's that no one else can write.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { defaultCacheDir } from './cache-dir.js';
import { CAPSULE_VERSION } from '../version.js';

/** The hash of each bundle's content, written in at build time (scripts/bundle.mjs); absent in the module tree. */
declare const __CAPSULE_BUNDLE_HASHES: Record<string, string> | undefined;

/** Entries of other builds of a bundle older than this go when a new one is written (newer ones may be another install's, in use). */
const STALE_MS = 60 * 60 * 1000;
/** A bigger entry is not one of ours. */
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;
/** The bundle runs as Node runs a CommonJS file, plus a dynamic import() that works inside vm.Script (see bundle.mjs). */
const PARAMS = 'exports, require, module, __filename, __dirname, __capsuleImport';

/** Entries compiled without a usable cache in this thread, written by saveCodeCaches(). */
interface State { pending: { script: vm.Script; file: string; dir: string; prefix: string }[] }
// Shared through globalThis: the bundles that call saveCodeCaches() each hold their own copy of this file.
const STATE = Symbol.for('capsule.code-cache');
const state = ((globalThis as Record<symbol, unknown>)[STATE] ??= { pending: [] }) as State;

/** The directory for compiled code, made private (0700) if new; undefined if it is not this user's alone. */
function codeCacheDir(): string | undefined {
  if (process.env['CAPSULE_CODE_CACHE'] === '0') return undefined;
  const top = defaultCacheDir();
  const dir = path.join(top, 'code');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = process.getuid?.();
    for (const d of [top, dir]) {
      const st = fs.lstatSync(d);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
    }
    return dir;
  } catch {
    return undefined;
  }
}

/** The entry's file name: which bundle, Capsule's version, the engine, and the bundle as built and as it is on disk. */
function entryName(bundle: string, st: fs.Stats): string | undefined {
  const name = path.basename(bundle);
  const hash = typeof __CAPSULE_BUNDLE_HASHES === 'object' ? __CAPSULE_BUNDLE_HASHES[name] : undefined;
  if (hash === undefined) return undefined;
  return `${name}-${CAPSULE_VERSION}-node${process.version}-${process.arch}-${hash}-${st.size}-${Math.trunc(st.mtimeMs)}.v8`;
}

/** The entry's bytes, or undefined if there is none this user owns as a plain file of a sane size. */
function readEntry(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || st.size === 0 || st.size > MAX_ENTRY_BYTES) return undefined;
    const data = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < st.size) {
      const got = fs.readSync(fd, data, n, st.size - n, n);
      if (got === 0) return undefined;
      n += got;
    }
    return data;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Runs the CommonJS bundle `file` (absolute) with a code cache when one can be used, and returns its exports. */
export function loadBundle(file: string): unknown {
  const source = fs.readFileSync(file, 'utf8');
  const dir = codeCacheDir();
  const name = dir !== undefined ? entryName(file, fs.statSync(file)) : undefined;
  const entry = dir !== undefined && name !== undefined ? path.join(dir, name) : undefined;
  const cachedData = entry !== undefined ? readEntry(entry) : undefined;
  const script = new vm.Script(`(function (${PARAMS}) {${source}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as unknown };
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  // A dynamic import() made here resolves as it would in the bundle: they sit in the same directory.
  fn(module.exports, createRequire(file), module, file, path.dirname(file), (specifier: string) => import(specifier));
  if (entry !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    state.pending.push({ script, file: entry, dir: dir!, prefix: `${path.basename(file)}-` });
  }
  return module.exports;
}

/**
 * Writes the code cache of every bundle this thread loaded without one,
 * with what it has compiled so far (so the functions a run needed are in
 * it). Written atomically; stale entries of other builds of that bundle go.
 * Failures are ignored: the next run compiles again. V8 takes an entry
 * only under the flags it was made with: module/load.ts calls this before it
 * changes them for a module's compile. An enclave thread writes its entry
 * after its guest has run, under the flags the host thread left; it was
 * loaded under the same ones unless its host compiled the module only after
 * it (then the next run writes it again).
 */
export function saveCodeCaches(): void {
  for (const p of state.pending.splice(0)) {
    const tmp = `${p.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      fs.writeFileSync(tmp, p.script.createCachedData(), { flag: 'wx', mode: 0o600 });
      fs.renameSync(tmp, p.file);
      const now = Date.now();
      for (const old of fs.readdirSync(p.dir)) {
        const f = path.join(p.dir, old);
        if (old.startsWith(p.prefix) && f !== p.file && now - fs.lstatSync(f).mtimeMs > STALE_MS) fs.rmSync(f, { force: true });
      }
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }
}

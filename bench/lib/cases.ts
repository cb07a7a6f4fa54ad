// What is measured: the contenders, the four cases, their goals for secure
// mode, and the 200 MB data file the read case uses.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const ROOT = here('../../../'); // dist/bench/lib -> repository root
const GUESTS = path.join(ROOT, 'bench/guests');
const CAPSULE = path.join(ROOT, 'bin/capsule.js');
const RUNNER = here('./nodewasi-runner.js');
/** The results of the last run of each part, committed: the README's tables are made from it (`npm run bench:readme`). */
export const RESULTS_FILE = path.join(ROOT, 'bench/results.json');

export type ContenderId = 'nodewasi' | 'secure' | 'normal';
export const CONTENDERS: { id: ContenderId; label: string }[] = [
  { id: 'nodewasi', label: 'node:wasi' },
  { id: 'secure', label: 'capsule secure' },
  { id: 'normal', label: 'capsule normal' },
];

export interface Mount { host: string; guest: string }

/** The goal for capsule secure: a ratio of medians, or a difference of medians in ms. */
export type Goal = { kind: 'ratio'; max: number } | { kind: 'diff'; maxMs: number };

export interface Case {
  id: string;
  title: string;
  module: string;
  /** Guest arguments of the timed runs. */
  args: string[];
  /** A run whose stdout is captured and compared before timing: against `expect`, else against node:wasi's. */
  check: { args: string[]; expect?: string };
  dirs: Mount[];
  rounds: number;
  goal: Goal;
  /** Also measure each contender's peak RSS once. */
  rss?: boolean;
  /** Flags for the Capsule contenders only (e.g. --no-write-cache). */
  capsuleFlags?: string[];
}

/** The command line of one contender running a guest. */
export function commandFor(who: ContenderId, module: string, args: string[], dirs: Mount[], capsuleFlags: string[] = []): string[] {
  const dirFlags = dirs.flatMap((d) => ['--dir', `${d.host}::${d.guest}`]);
  return who === 'nodewasi'
    ? [process.execPath, '--no-warnings', RUNNER, ...dirFlags, module, ...args]
    : [process.execPath, CAPSULE, 'run', '--mode', who, ...capsuleFlags, ...dirFlags, module, ...args];
}

/** Commands whose start-up times, side by side, say where a whole-process start-up goes. */
export const STARTUP_STEPS = {
  node: [process.execPath, '-e', '0'],
  // What every enclave pays at least: Node starting one thread that does nothing, and its end.
  thread: [process.execPath, '-e', "new (require('node:worker_threads').Worker)('', { eval: true })"],
  // Loads the CLI (with its code cache) and builds its commands, but starts no thread.
  cliOnly: [process.execPath, CAPSULE, '--version'],
} as const;

export const guest = (name: string): string => path.join(GUESTS, `${name}.wasm`);

export interface DataFile { dir: string; name: string; expect: string; remove(): void }

/** Writes `mb` MiB of deterministic pseudo-random bytes (xorshift32) in 1 MiB chunks. */
export function makeDataFile(mb: number): DataFile {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-'));
  const name = 'data.bin';
  const fd = fs.openSync(path.join(dir, name), 'w');
  const chunk = new Uint32Array(1 << 18);
  const bytes = new Uint8Array(chunk.buffer);
  let x = 2463534242;
  let sum = 0;
  try {
    for (let c = 0; c < mb; c++) {
      for (let i = 0; i < chunk.length; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        chunk[i] = x >>> 0;
      }
      for (let i = 0; i < bytes.length; i++) sum += bytes[i]!;
      fs.writeSync(fd, bytes);
    }
  } finally {
    fs.closeSync(fd);
  }
  return {
    dir, name,
    expect: `bytes=${mb * bytes.length} sum=${sum % 2 ** 32}\n`,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Writes `files` text files of about `kib` KiB each of words from a small vocabulary (xorshift32) into `dir`. */
export function makeTextFiles(dir: string, files: number, kib: number): void {
  const words = ['the', 'a', 'capsule', 'river', 'sandbox', 'is', 'and', 'of', 'stone', 'water', 'guest', 'host', 'thread', 'ring'];
  let x = 88675123;
  for (let f = 0; f < files; f++) {
    const parts: string[] = [];
    let size = 0;
    while (size < kib * 1024) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const w = words[(x >>> 0) % words.length]!;
      const sep = (x >>> 8) % 12 === 0 ? '\n' : ' ';
      parts.push(w, sep);
      size += w.length + 1;
    }
    fs.writeFileSync(path.join(dir, `part${f}.txt`), parts.join(''));
  }
}

/** `scratch` is an empty directory the file-write cases write into; `text` holds makeTextFiles' files. */
export function cases(data: DataFile, scratch: string, text: string, rounds: number, startupRounds: number): Case[] {
  const dataArgs = [`/data/${data.name}`];
  const out: Mount[] = [{ host: scratch, guest: '/out' }];
  const fileWrites = (id: string, title: string, capsuleFlags: string[]): Case => ({
    id, title, module: guest('small_writes'), args: ['1000000', '/out/w.bin'],
    check: { args: ['1000', '/out/check.bin'], expect: 'bytes=8000\n' }, dirs: out, rounds, goal: { kind: 'ratio', max: 1.0 },
    capsuleFlags,
  });
  return [
    {
      id: 'startup', title: 'start-up, hello (process)', module: guest('hello'), args: [],
      check: { args: [], expect: 'hello\n' }, dirs: [], rounds: startupRounds, goal: { kind: 'diff', maxMs: 15 },
    },
    {
      id: 'small_writes', title: '1M x 8-byte fd_write to stdout', module: guest('small_writes'), args: ['1000000'],
      check: { args: ['1000'], expect: '1234567\n'.repeat(1000) }, dirs: [], rounds, goal: { kind: 'ratio', max: 1.0 },
    },
    fileWrites('file_writes', '1M x 8-byte fd_write to a file', []),
    fileWrites('file_writes_uncached', '1M x 8-byte fd_write to a file, --no-write-cache', ['--no-write-cache']),
    {
      id: 'read_chunks', title: 'read 200 MB in 64 KiB', module: guest('read_chunks'), args: dataArgs,
      check: { args: dataArgs, expect: data.expect }, dirs: [{ host: data.dir, guest: '/data' }], rounds,
      goal: { kind: 'ratio', max: 1.0 }, rss: true,
    },
    {
      // A real program's short run: the example word counter over four text files, mostly start-up.
      id: 'wordcount', title: 'real program, short run: wordcount of 4 x 256 KiB', module: path.join(ROOT, 'examples/wordcount/wordcount.wasm'),
      args: ['/text'], check: { args: ['/text'] }, dirs: [{ host: text, guest: '/text' }], rounds, goal: { kind: 'ratio', max: 1.15 },
    },
    {
      id: 'compute', title: 'compute, n-body 20M steps', module: guest('compute'), args: ['20000000'],
      check: { args: ['100000'] }, dirs: [], rounds, goal: { kind: 'ratio', max: 1.0 },
    },
  ];
}

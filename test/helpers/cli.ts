// Shared helpers for end-to-end tests: run the real `capsule` CLI in a child
// process, locate prebuilt test guests, and make self-cleaning temp dirs.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path, { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/helpers/cli.js). */
export const ROOT = path.resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(ROOT, 'bin', 'capsule.js');

export interface CliOptions {
  stdin?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** stdout exactly as bytes, for binary comparisons. */
  stdoutBytes: Buffer;
}

/** Runs `node bin/capsule.js ...args`; stdin is closed after `opts.stdin` (or at once). */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    // `--` as bin/capsule.js's shebang has it: Node 20 would take a guest's --env-file as its own.
    const child = spawn(process.execPath, ['--', CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // The child may exit without reading all of stdin; that is not a test failure.
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`capsule ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Absolute path of the prebuilt guest test/guests/<name>.wasm. */
export function guest(name: string): string {
  return path.join(ROOT, 'test', 'guests', `${name}.wasm`);
}

export interface TempDir {
  path: string;
  cleanup(): void;
}

/** A fresh directory under the OS temp dir; cleanup() removes it and everything below. */
export function tempDir(prefix = 'capsule-test-'): TempDir {
  const p = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { path: p, cleanup: () => fs.rmSync(p, { recursive: true, force: true }) };
}

/** Lines of stderr/stdout text, without the empty string after a final newline. */
export function lines(text: string): string[] {
  const l = text.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

export const MODES = ['secure', 'normal'] as const;

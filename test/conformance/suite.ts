// A runner for the official WASI preview 1 conformance suite, following its
// specification.md: every *.wasm is a test; X.json beside it gives args, env,
// root, expected exit code and output (legacy form) or a list of operations.
// Each run gets a fresh copy of the test's root directory and goes through
// the real `capsule` CLI.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CAPSULE_BIN = path.join(REPO_ROOT, 'bin/capsule.js');

/** Where the suite lives: CAPSULE_WASI_TESTSUITE, or the shared folder beside the repository. */
export function suiteRoot(): string {
  return process.env['CAPSULE_WASI_TESTSUITE'] ?? path.resolve(REPO_ROOT, '../shared/wasi-testsuite');
}

interface Expectation {
  args: string[];
  env: Record<string, string>;
  root: string | null;
  exitCode: number;
  stdout: string | undefined;
  stderr: string | undefined;
}

export interface TestCase {
  name: string;
  wasm: string;
  spec: Expectation;
}

export interface TestOutcome {
  test: TestCase;
  passed: boolean;
  reason: string;
}

function findWasm(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && !e.name.endsWith('.dir')) out.push(...findWasm(p));
    else if (e.isFile() && e.name.endsWith('.wasm')) out.push(p);
  }
  return out.sort();
}

function readSpec(wasm: string): Expectation {
  const json = wasm.replace(/\.wasm$/, '.json');
  const raw = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) as Record<string, unknown> : {};
  const spec: Expectation = {
    args: (raw['args'] as string[] | undefined) ?? [],
    env: (raw['env'] as Record<string, string> | undefined) ?? {},
    root: (raw['root'] as string | undefined) ?? null,
    exitCode: (raw['exit_code'] as number | undefined) ?? 0,
    stdout: raw['stdout'] as string | undefined,
    stderr: raw['stderr'] as string | undefined,
  };
  // The operation-based form: run, then read/wait expectations.
  const ops = raw['operations'] as Record<string, unknown>[] | undefined;
  for (const op of ops ?? []) {
    if (op['type'] === 'run') {
      spec.args = (op['args'] as string[] | undefined) ?? [];
      spec.env = (op['env'] as Record<string, string> | undefined) ?? {};
      spec.root = (op['root'] as string | undefined) ?? null;
    } else if (op['type'] === 'wait') {
      spec.exitCode = (op['exit_code'] as number | undefined) ?? 0;
    } else if (op['type'] === 'read') {
      const payload = (op['payload'] as string | undefined) ?? '';
      if (op['id'] === 'stderr') spec.stderr = payload;
      else spec.stdout = payload;
    }
  }
  return spec;
}

export function discover(root = suiteRoot()): TestCase[] {
  const tests = path.join(root, 'tests');
  return findWasm(tests).map((wasm) => ({
    name: path.relative(tests, wasm).replace(/\/testsuite\/wasm32-wasip1\//, '/').replace(/\.wasm$/, ''),
    wasm,
    spec: readSpec(wasm),
  }));
}

function runCli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAPSULE_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export async function runTest(test: TestCase, mode: 'normal' | 'secure'): Promise<TestOutcome> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-wasi-'));
  try {
    const args = ['run', '--mode', mode];
    for (const [k, v] of Object.entries(test.spec.env)) args.push('--env', `${k}=${v}`);
    if (test.spec.root !== null) {
      const copy = path.join(work, 'root');
      fs.cpSync(path.join(path.dirname(test.wasm), test.spec.root), copy, { recursive: true, verbatimSymlinks: true });
      args.push('--dir', `${copy}::/`);
    }
    args.push(test.wasm, '--', ...test.spec.args);
    const r = await runCli(args, work);
    const problems: string[] = [];
    if (r.code !== test.spec.exitCode) problems.push(`exit code ${r.code}, expected ${test.spec.exitCode}`);
    if (test.spec.stdout !== undefined && r.stdout !== test.spec.stdout) {
      problems.push(`stdout ${JSON.stringify(r.stdout.slice(0, 200))}, expected ${JSON.stringify(test.spec.stdout)}`);
    }
    if (test.spec.stderr !== undefined && r.stderr !== test.spec.stderr) {
      problems.push(`stderr ${JSON.stringify(r.stderr.slice(0, 200))}, expected ${JSON.stringify(test.spec.stderr)}`);
    }
    if (problems.length > 0 && r.stderr && test.spec.stderr === undefined) {
      problems.push(`stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`);
    }
    return { test, passed: problems.length === 0, reason: problems.join('; ') };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Runs every test with `concurrency` at a time, in discovery order of results. */
export async function runAll(tests: TestCase[], mode: 'normal' | 'secure', concurrency = Math.max(2, os.availableParallelism())): Promise<TestOutcome[]> {
  const results: TestOutcome[] = new Array(tests.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tests.length) {
      const i = next++;
      results[i] = await runTest(tests[i]!, mode);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

// The host side of a job's files: its input tree written into a private
// directory (created by the worker, so no name in it can be a symlink or
// reach outside), and the files left in its output directory read back,
// bounded in count and bytes, symlinks and special files skipped.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JOB_LIMITS, type JobResult, type JobSpec } from './job.js';

/** A private directory per job attempt (mode 0700), removed by `dispose`. */
export async function jobDirectory(): Promise<{ dir: string; dispose(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'capsule-job-'));
  return { dir, dispose: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** Writes the input tree below `root` (paths were checked by the job schema: relative, no `..`). */
export async function writeInputTree(root: string, files: NonNullable<JobSpec['input']>['files']): Promise<void> {
  await fs.mkdir(root, { mode: 0o700 });
  for (const f of files) {
    const target = path.join(root, f.path);
    // Checked again here: this is the line that touches the host.
    if (!target.startsWith(root + path.sep)) throw new Error(`input path '${f.path}' leaves the input tree`);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await fs.writeFile(target, Buffer.from(f.data, 'base64'), { flag: 'wx', mode: 0o600 });
  }
}

/** The regular files below `root`, up to the job's output bounds; the rest is reported as cut. */
export async function readOutputTree(root: string): Promise<Pick<JobResult, 'files' | 'filesCut'>> {
  const files: JobResult['files'] = [];
  let bytes = 0;
  let cut = false;
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const name = rel === '' ? e.name : `${rel}/${e.name}`;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) { await walk(full, name); continue; }
      if (!e.isFile()) continue;
      const stat = await fs.lstat(full);
      if (files.length >= JOB_LIMITS.outputFiles || bytes + stat.size > JOB_LIMITS.outputFileBytes) { cut = true; continue; }
      const handle = await fs.open(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        const data = Buffer.alloc(stat.size);
        const { bytesRead } = await handle.read(data, 0, stat.size, 0);
        bytes += bytesRead;
        files.push({ path: name, base64: data.subarray(0, bytesRead).toString('base64'), bytes: bytesRead });
      } finally {
        await handle.close();
      }
    }
  };
  await walk(root, '');
  return { files, filesCut: cut };
}

/** The regular files below `dir` as an input tree; more than a job may carry is refused, as is a symlink. */
export async function readInputDir(dir: string): Promise<{ path: string; data: string }[]> {
  const out: { path: string; data: string }[] = [];
  let bytes = 0;
  const walk = async (at: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(at, { withFileTypes: true })) {
      const name = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) { await walk(path.join(at, e.name), name); continue; }
      if (!e.isFile()) throw new Error(`'${name}' is not a regular file or directory`);
      const data = await fs.readFile(path.join(at, e.name));
      bytes += data.byteLength;
      if (out.length >= JOB_LIMITS.inputFiles) throw new Error(`more than ${JOB_LIMITS.inputFiles} files`);
      if (bytes > JOB_LIMITS.inputBytes) throw new Error(`more than ${JOB_LIMITS.inputBytes} bytes`);
      out.push({ path: name, data: data.toString('base64') });
    }
  };
  await walk(dir, '');
  return out;
}

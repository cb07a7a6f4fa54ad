// The guest's working directory (getcwd, chdir): a guest path that must
// name a directory inside one of the mounts. wasix-libc resolves relative
// paths against it itself (into paths under a mount's descriptor); Capsule
// keeps it so that getcwd answers and chdir can only go where mounts are.

import { Errno, SysError } from '../../core/errno.js';
import { Filetype } from '../../core/witx.js';
import type { DirectoryDescriptor } from './directory.js';

/** The longest working directory kept, as Linux's PATH_MAX. */
export const MAX_CWD = 4096;

/** `path` made absolute against `base`, with ".", ".." and repeated slashes resolved ("/.." is "/"). */
export function normalize(base: string, path: string): string {
  const parts: string[] = [];
  for (const c of (path.startsWith('/') ? path : `${base}/${path}`).split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return `/${parts.join('/')}`;
}

export class WorkingDirectory {
  path = '/';

  constructor(private readonly mounts: readonly DirectoryDescriptor[]) {}

  /** chdir: ENOENT outside every mount (or if absent), ENOTDIR if not a directory. */
  change(path: string): void {
    if (path === '') throw new SysError(Errno.NOENT);
    if (path.includes('\0')) throw new SysError(Errno.INVAL);
    const target = normalize(this.path, path);
    if (target.length >= MAX_CWD) throw new SysError(Errno.NAMETOOLONG);
    let best: DirectoryDescriptor | undefined;
    let bestRoot = '';
    for (const m of this.mounts) {
      const root = normalize('/', m.guestPath ?? '/');
      const inside = root === '/' || target === root || target.startsWith(`${root}/`);
      if (inside && root.length >= bestRoot.length) { best = m; bestRoot = root; }
    }
    if (!best) throw new SysError(Errno.NOENT);
    const rel = target.slice(bestRoot === '/' ? 1 : bestRoot.length + 1) || '.';
    if (best.filestat(rel, true).filetype !== Filetype.DIRECTORY) throw new SysError(Errno.NOTDIR);
    this.path = target;
  }
}

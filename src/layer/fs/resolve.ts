// Path resolution confined to a directory. The walk happens here, one
// component at a time, on directories actually opened: `..` pops what this
// walk pushed and can never rise above the starting directory, symlink
// targets are spliced in and walked the same way, and an absolute path or
// absolute symlink is refused. Backends only ever see single names.

import { Denial, Errno, SysError } from '../../core/errno.js';
import { encodeUtf8 } from '../../core/utf8.js';
import { Filetype } from '../../core/witx.js';
import type { DirNode } from './backend.js';

/** Symlinks followed in one resolution before ELOOP, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;
/** Longest name of one path component, in UTF-8 bytes (NAME_MAX): longer is ENAMETOOLONG, in every mount. */
export const NAME_MAX = 255;
/** Longest path or symlink target, in UTF-8 bytes (Linux's PATH_MAX less its NUL): longer is ENAMETOOLONG. */
export const PATH_MAX = 4095;

export interface Resolved {
  /** The directory holding the final component (the start itself or one opened by the walk). */
  readonly dir: DirNode;
  /** The final component: a plain name, or "." when the path names `dir` itself. */
  readonly name: string;
  /** The path ended in "/" (or a symlink to such a path): the result must be a directory. */
  readonly mustBeDir: boolean;
  /** Closes what the walk opened. */
  release(): void;
}

function escape(path: string, viaSymlink = false): never {
  throw new Denial(Errno.NOTCAPABLE, 'deny', viaSymlink ? 'a symlink on the path leads outside its mount' : 'the path leads outside its mount', path);
}

function split(path: string): { parts: string[]; trailing: boolean } {
  const parts = path.split('/').filter((p) => p !== '');
  for (const p of parts) {
    if (p.length > NAME_MAX || (p.length * 3 > NAME_MAX && encodeUtf8(p).byteLength > NAME_MAX)) throw new SysError(Errno.NAMETOOLONG);
  }
  return { parts, trailing: path.endsWith('/') };
}

/**
 * Walks `path` from `start`. The final component is followed if it is a
 * symlink and `followFinal` is set (or the path has a trailing slash).
 */
export function resolve(start: DirNode, path: string, followFinal: boolean): Resolved {
  if (path === '') throw new SysError(Errno.NOENT);
  if (path.includes('\0')) throw new SysError(Errno.INVAL, 'path contains NUL');
  if (path.startsWith('/')) escape(path);

  const stack: DirNode[] = [start];
  const top = (): DirNode => stack[stack.length - 1]!;
  const releaseAll = (): void => {
    for (let i = stack.length - 1; i > 0; i--) stack[i]!.close();
    stack.length = 1;
  };

  let { parts, trailing } = split(path);
  // Work list in reverse so a symlink's components can be pushed in front.
  const todo = parts.reverse();
  let links = 0;
  let mustBeDir = trailing;

  const follow = (name: string, isFinal: boolean): void => {
    if (++links > MAX_SYMLINKS) throw new SysError(Errno.LOOP);
    const target = top().readlink(name);
    if (target === '') throw new SysError(Errno.NOENT);
    if (target.startsWith('/')) escape(path, true);
    const t = split(target);
    if (isFinal) mustBeDir ||= t.trailing;
    for (let i = t.parts.length - 1; i >= 0; i--) todo.push(t.parts[i]!);
  };

  try {
    let finalName = '.';
    while (todo.length > 0) {
      const name = todo.pop()!;
      const isFinal = todo.length === 0;
      if (name === '.') {
        if (isFinal) finalName = '.';
        continue;
      }
      if (name === '..') {
        if (stack.length === 1) escape(path, links > 0);
        stack.pop()!.close();
        if (isFinal) finalName = '.';
        continue;
      }
      if (isFinal) {
        if (followFinal || mustBeDir) {
          let type: number | undefined;
          try {
            type = top().statChild(name).filetype;
          } catch (err) {
            if (!(err instanceof SysError) || err.errno !== Errno.NOENT) throw err;
          }
          if (type === Filetype.SYMBOLIC_LINK) {
            follow(name, true);
            continue;
          }
        }
        finalName = name;
        break;
      }
      // An intermediate component must be a directory, reached without following.
      try {
        stack.push(top().openDir(name));
      } catch (err) {
        if (!(err instanceof SysError) || (err.errno !== Errno.NOTDIR && err.errno !== Errno.LOOP)) throw err;
        if (top().statChild(name).filetype !== Filetype.SYMBOLIC_LINK) throw err;
        follow(name, false);
      }
    }
    // Keep only the final directory open; intermediate ones are done.
    const dir = top();
    for (let i = stack.length - 2; i > 0; i--) stack[i]!.close();
    const owned = stack.length > 1;
    stack.length = 1;
    let released = false;
    return {
      dir,
      name: finalName,
      mustBeDir,
      release() {
        if (owned && !released) {
          released = true;
          dir.close();
        }
      },
    };
  } catch (err) {
    releaseAll();
    throw err;
  }
}

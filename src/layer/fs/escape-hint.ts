// What a denied escape from a mount tells the user. Naming the mount that
// would grant the path helps when the guest meant a directory of its own
// (`/data/../config/x`: mount something at /config); for a system directory
// the same hint would teach a user to hand a guest /etc or /proc, so there
// the reason says only that the path left its mount.

/** Top-level directories of a Unix system (FHS): a hint never suggests mounting one or anything inside. */
const SYSTEM_DIRECTORIES = ['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'root', 'run', 'sbin', 'sys', 'usr', 'var'];

export function isSystemDirectory(guestDir: string): boolean {
  const top = guestDir.split('/').filter((p) => p !== '')[0];
  return top === undefined || SYSTEM_DIRECTORIES.includes(top.toLowerCase());
}

/** The reason for a path that led outside its mount, `dir` being the directory the guest's path means. */
export function escapeReason(dir: string): string {
  return isSystemDirectory(dir)
    ? "the path leads outside its mount ('..' cannot climb out of a mounted directory)"
    : `the path leads outside its mount (a mount such as --dir HOST::${dir} would grant it)`;
}

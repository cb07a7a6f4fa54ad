// Exit codes of `capsule run` (and `RunResult.exitCode`). A guest that exits
// normally gives its own status (0-255); Capsule's own codes sit apart from
// the common ones where it can, following BSD sysexits for user errors.

export const ExitCode = {
  /** Bad command line: unknown option, malformed --dir or --env, missing module argument. */
  USAGE: 64,
  /** The module is not valid WebAssembly, not a WASI command, or needs imports Capsule lacks. */
  BAD_MODULE: 65,
  /** A file named on the command line (module, directory to mount) does not exist or cannot be read. */
  NO_INPUT: 66,
  /** A host resource Capsule needs is unavailable (e.g. a port to publish is in use). */
  UNAVAILABLE: 69,
  /** Capsule itself failed: a bug, or the host refused something it needs. */
  INTERNAL: 70,
  /** The guest was suspended into a sealed snapshot (`capsule suspend`); `capsule resume` continues it. */
  SUSPENDED: 75,
  /** `capsule sockets`: the runtime directory is not private to the user (a symlink, another owner, writable by others). */
  NOT_PRIVATE: 77,
  /** A policy or system file is invalid. */
  CONFIG: 78,
  /** A snapshot cannot be trusted: altered, truncated, not a snapshot, or sealed with another key. */
  SNAPSHOT_REFUSED: 79,
  /** A sound snapshot that does not fit this resume: another module, another Capsule version, a wider policy, or a file it had open that cannot be opened again. */
  SNAPSHOT_MISMATCH: 80,
  /** The guest trapped: unreachable, out-of-bounds access, stack exhaustion, ... */
  TRAP: 101,
  /** The guest ran past its wall-time limit and was stopped. */
  TIMEOUT: 102,
  /** The guest needed more memory than its limit. */
  MEMORY_LIMIT: 103,
  /** The guest wrote more output than its limit. */
  OUTPUT_LIMIT: 104,
  /** The guest was stopped from outside (Ctrl-C, an abort signal); SIGTERM and SIGHUP give 128+N. */
  INTERRUPTED: 130,
} as const;

/** Human text per code, for `--help`. */
export const EXIT_CODE_HELP: [string, string][] = [
  ['0-255', "the guest's own exit status (proc_exit, or 0 when _start returns)"],
  ['64', 'usage error: unknown option, malformed --dir/--env, missing module'],
  ['65', 'invalid module: not WebAssembly, truncated, no _start, unknown imports'],
  ['66', 'a module file or mounted directory does not exist or cannot be read'],
  ['69', 'a host resource is unavailable (e.g. a --publish port is in use)'],
  ['70', 'internal error in Capsule'],
  ['75', 'the guest was suspended into a sealed snapshot (capsule suspend)'],
  ['77', 'capsule sockets: the runtime directory is not private to the user'],
  ['78', 'invalid policy or system file'],
  ['79', 'snapshot refused: altered, truncated, not a snapshot, or the wrong seal key'],
  ['80', 'snapshot does not fit: another module or Capsule version, a wider policy, or a file it had open that the resume cannot open again'],
  ['101', 'the guest trapped (unreachable, out-of-bounds access, stack exhausted, ...)'],
  ['102', 'the guest reached its wall-time limit'],
  ['103', 'the guest reached its memory limit'],
  ['104', 'the guest reached its output limit'],
  ['128+N', 'the guest raised signal N (proc_raise)'],
  ['130', 'interrupted (Ctrl-C)'],
  ['129, 143', 'stopped by SIGHUP, SIGTERM (output flushed, audit closed)'],
];

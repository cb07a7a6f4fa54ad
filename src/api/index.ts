// Capsule's public TypeScript API.

export { run, exitCodeOf, setSpareEnclaves } from './run.js';
export type { RunOptions, RunResult, DirMount, OutputTarget, ExecutionMode, Outcome, Usage, ModuleSource } from './run.js';
export { CapsuleError } from './errors.js';
export { ExitCode } from './exit-codes.js';

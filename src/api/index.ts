// Capsule's public TypeScript API.

export { run, exitCodeOf, setSpareEnclaves } from './run.js';
export type { RunOptions, RunResult, DirMount, OutputTarget, NetworkOptions, ExecutionMode, Outcome, Usage, ModuleSource, PolicyDocument, Limits } from './run.js';
export { Layer } from './layer.js';
export { System } from './system.js';
export type { SystemOptions, SystemGuest, SystemResult } from './system.js';
export type { AuditRecord } from '../audit/record.js';
export type { WasmValue } from '../module/invoke.js';
export { DEFAULT_LIMITS } from '../policy/policy.js';
export { CapsuleError } from '../core/errors.js';
export { ExitCode } from '../core/exit-codes.js';
export type { LifecycleEvent, GuestState, GuestRow } from '../lifecycle/state.js';
export { start, resume } from './suspend.js';
export type { GuestHandle, ResumeOptions } from './suspend.js';
export { resumeSystem, loadSystemSnapshot } from './system-suspend.js';
export type { SystemResumeOptions } from './system-suspend.js';

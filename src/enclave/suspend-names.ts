// Names a module prepared for suspension exports (see suspendable.ts), apart
// from the preparation itself so that enclave threads load no more than this.

/** Exported names of the module's mutable globals: this prefix and the global's index. */
export const GLOBAL_EXPORT_PREFIX = 'capsule:global:';

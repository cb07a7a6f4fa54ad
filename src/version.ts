// Capsule's version, as snapshots record it (a test keeps it equal to package.json's).
export const CAPSULE_VERSION = '0.1.0';

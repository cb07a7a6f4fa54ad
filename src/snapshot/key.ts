// The seal key: 32 bytes, from --seal-key FILE (raw, or base64 text), the
// CAPSULE_SEAL_KEY variable (base64) or the API. A key file others can read
// is refused, as ssh refuses such a private key: the key is the snapshot's
// only protection.

import fs from 'node:fs';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

export const SEAL_KEY_BYTES = 32;

/** 32 bytes from raw bytes or base64 text (surrounding white space ignored); undefined if neither. */
function keyBytes(content: Buffer): Buffer | undefined {
  if (content.length === SEAL_KEY_BYTES) return Buffer.from(content);
  const text = content.toString('latin1').trim();
  if (!/^[A-Za-z0-9+/]{42,44}={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === SEAL_KEY_BYTES ? bytes : undefined;
}

/** The key in `file`; a one-line CapsuleError naming what is wrong. */
export function readSealKeyFile(file: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new CapsuleError(ExitCode.NO_INPUT, `seal key file '${file}' does not exist or cannot be read`);
  }
  if (!st.isFile()) throw new CapsuleError(ExitCode.NO_INPUT, `seal key file '${file}' is not a file`);
  if ((st.mode & 0o077) !== 0) {
    throw new CapsuleError(ExitCode.NOT_PRIVATE, `seal key file '${file}' can be read or changed by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  }
  if (st.size > 4096) throw new CapsuleError(ExitCode.USAGE, `seal key file '${file}' is not a key: 32 bytes, or their base64`);
  const content = fs.readFileSync(file);
  try {
    const key = keyBytes(content);
    if (key === undefined) throw new CapsuleError(ExitCode.USAGE, `seal key file '${file}' is not a key: 32 bytes, or their base64`);
    return key;
  } finally {
    content.fill(0);
  }
}

/** The key in CAPSULE_SEAL_KEY, or undefined when it is not set. */
export function sealKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const text = env['CAPSULE_SEAL_KEY'];
  if (text === undefined || text === '') return undefined;
  const key = keyBytes(Buffer.from(text, 'latin1'));
  if (key === undefined || key.length !== SEAL_KEY_BYTES || text.trim().length < 43) {
    throw new CapsuleError(ExitCode.USAGE, 'CAPSULE_SEAL_KEY is not a key: the base64 of 32 bytes');
  }
  return key;
}

/** A key given through the API: exactly 32 bytes. */
export function checkSealKey(key: Uint8Array): Buffer {
  if (key.byteLength !== SEAL_KEY_BYTES) throw new CapsuleError(ExitCode.USAGE, `a seal key is ${SEAL_KEY_BYTES} bytes, not ${key.byteLength}`);
  return Buffer.from(key);
}

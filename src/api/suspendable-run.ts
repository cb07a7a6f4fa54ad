// What a --suspendable run needs beyond a plain one, loaded only by such a
// run (node:crypto among it): its seal key and the enclave's sealing settings.

import path from 'node:path';
import type { SuspendableConfig } from '../enclave/protocol.js';
import type { UnsealedChunks } from '../enclave/unseal-thread.js';
import { preparationId } from '../module/suspendable.js';
import type { ModuleSource } from '../module/load.js';
import type { Policy } from '../policy/policy.js';
import { canonicalJson, sha256Hex } from '../snapshot/format.js';
import { checkSealKey, sealKeyFromEnv } from '../snapshot/key.js';
import { sealedPolicy } from '../snapshot/policy-check.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

/** The seal key of a suspendable run: the option's, else CAPSULE_SEAL_KEY's; a copy, wiped when the run ends. */
export function suspendKey(sealKey: Uint8Array | undefined): Buffer {
  const key = sealKey !== undefined ? checkSealKey(sealKey) : sealKeyFromEnv();
  if (key === undefined) throw new CapsuleError(ExitCode.USAGE, 'a suspendable guest needs a seal key: --seal-key FILE, CAPSULE_SEAL_KEY or the sealKey option');
  return key;
}

/** How the enclave seals this guest: what the header binds and the sealed state carries. */
export function suspendableConfig(o: { sealKey: Buffer; name: string; moduleSha256: string; policy: Policy; source: ModuleSource; resumeFrom?: string; resumePart?: { offset: number; index: number }; resumeChunks?: UnsealedChunks }): Omit<SuspendableConfig, 'port'> {
  const sealed = sealedPolicy(o.policy);
  return {
    sealKey: o.sealKey, guests: [{ name: o.name, moduleSha256: o.moduleSha256 }], policySha256: sha256Hex(canonicalJson(sealed)), policy: sealed,
    module: { ...(typeof o.source === 'string' ? { path: path.resolve(o.source) } : {}), sha256: o.moduleSha256, preparation: preparationId() },
    ...(o.resumeFrom !== undefined ? { resumeFrom: o.resumeFrom } : {}),
    ...(o.resumePart !== undefined ? { resumePart: o.resumePart } : {}),
    ...(o.resumeChunks !== undefined ? { resumeChunks: o.resumeChunks } : {}),
  };
}

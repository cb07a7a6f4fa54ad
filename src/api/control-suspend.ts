// `capsule suspend` over the control socket: the running layer seals the
// named guest into the file asked for (an absolute path, chosen by the same
// user: only they can reach the socket) and answers with its size.

import { CapsuleError } from '../core/errors.js';
import type { Layer } from './layer.js';
import { suspendGuest } from './suspend.js';

export async function suspendAnswer(layer: Layer, req: Record<string, unknown>,
  suspendAll?: (file: string) => Promise<{ file: string; bytes: number } | { error: string }>): Promise<object> {
  const { guest, file } = req;
  if (req['all'] === true) {
    if (typeof file !== 'string' || !file.startsWith('/') || file.length > 4096) return { error: 'malformed suspend request' };
    // A system (`capsule up --suspendable`) seals as a whole; a single guest's run has no "all".
    return suspendAll ? await suspendAll(file) : { error: 'this process runs no suspendable system (capsule up --suspendable)' };
  }
  if (typeof guest !== 'string' || typeof file !== 'string' || !file.startsWith('/') || file.length > 4096) return { error: 'malformed suspend request' };
  const lifecycle = layer.guests.get(guest);
  if (lifecycle === undefined) return { error: `no guest named ${guest}` };
  try {
    return await suspendGuest(lifecycle, file);
  } catch (err) {
    return { error: err instanceof CapsuleError ? err.message : 'the suspension failed' };
  }
}

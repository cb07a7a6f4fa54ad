// Start order of a system: a guest may wait until others listen on a port
// ("after": { "server": 8080 }). Checked before anything starts: every name
// is a guest of the system, every port a port, and no guest waits, directly
// or through others, for itself (it would never start).

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

export interface Waiter {
  name: string;
  /** Guest name -> the TCP port it must listen on before this guest starts. */
  after?: Record<string, number>;
}

/** Throws CapsuleError 78 naming the first unknown guest, bad port or cycle. */
export function checkStartOrder(guests: Waiter[]): void {
  const index = new Map(guests.map((g, i) => [g.name.toLowerCase(), i]));
  const waitsFor = (g: Waiter): string[] => Object.keys(g.after ?? {}).map((n) => n.toLowerCase());
  for (const [i, g] of guests.entries()) {
    for (const [dep, port] of Object.entries(g.after ?? {})) {
      if (!index.has(dep.toLowerCase())) throw new CapsuleError(ExitCode.CONFIG, `guests[${i}].after: '${dep}' is not a guest of this system`);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new CapsuleError(ExitCode.CONFIG, `guests[${i}].after.${dep}: ${String(port)} is not a port (1-65535)`);
      }
    }
  }
  // Depth-first search; a guest met again while still on the path closes a cycle.
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (name: string): void => {
    if (done.has(name)) return;
    const at = path.indexOf(name);
    if (at >= 0) {
      const cycle = [...path.slice(at), name];
      const i = index.get(cycle[0]!)!;
      throw new CapsuleError(ExitCode.CONFIG, cycle.length === 2
        ? `guests[${i}].after: '${name}' waits for itself, so it would never start`
        : `guests[${i}].after: ${cycle.map((n) => `'${n}'`).join(' waits for ')}: a cycle, so none of them would start`);
    }
    path.push(name);
    for (const dep of waitsFor(guests[index.get(name)!]!)) visit(dep);
    path.pop();
    done.add(name);
  };
  for (const g of guests) visit(g.name.toLowerCase());
}

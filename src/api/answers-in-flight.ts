// Control-socket answers that take their time (a suspension seals a guest,
// then answers): a process about to exit once its guest is sealed waits for
// them to reach their clients, or `capsule suspend` would read a cut answer.
// Kept apart from control.ts so that the exit path loads no node:net.

const inFlight = new Set<Promise<void>>();

/** Registers an answer under way; `sent` settles once its last byte is handed on (or its connection is gone). */
export function answerInFlight(sent: Promise<void>): void {
  inFlight.add(sent);
  void sent.finally(() => inFlight.delete(sent));
}

/** Resolves once every answer under way is sent, or after `maxMs` (a client that stopped reading cannot hold an exit). */
export function answersSent(maxMs: number): Promise<void> {
  if (inFlight.size === 0) return Promise.resolve();
  return Promise.race([
    Promise.all(inFlight).then(() => undefined),
    new Promise<void>((resolve) => { setTimeout(resolve, maxMs).unref(); }),
  ]);
}

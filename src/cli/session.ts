// What `capsule run` and `capsule up` share around a layer: the audit file,
// socket trace lines, and stop signals (the first stops the guests cleanly,
// a second gives up waiting).

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { Layer } from '../api/layer.js';

/** Appends the layer's audit log to `file` (if given); a file that cannot be opened is a one-line error. */
export function openAuditFile(layer: Layer, file: string | undefined): void {
  if (file === undefined) return;
  try {
    layer.audit.addFile(file);
  } catch (err) {
    layer.close();
    throw new CapsuleError(ExitCode.NO_INPUT, `cannot open audit file '${file}': ${(err as Error).message}`);
  }
}

/** Host signals that stop the guests cleanly: output is flushed, the audit log closed, the exit code 128+N. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * An abort signal that Ctrl-C, SIGTERM and SIGHUP fire (its reason names the
 * signal), or stop() with a reason of its own (`capsule stop`); a second
 * signal gives up waiting. dispose() stops listening.
 */
export function interruptible(): { signal: AbortSignal; stop(reason: unknown): void; dispose(): void } {
  const controller = new AbortController();
  let interrupts = 0;
  const handlers = STOP_SIGNALS.map((name) => {
    const handler = (): void => {
      if (++interrupts > 1) process.exit(ExitCode.INTERRUPTED);
      controller.abort(name);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    stop: (reason) => controller.abort(reason),
    dispose: () => { for (const [name, h] of handlers) process.off(name, h); },
  };
}

/** A --trace-sockets line on stderr (the layer has escaped it). */
export function traceLine(line: string): void {
  process.stderr.write(`[capsule] ${line}\n`);
}

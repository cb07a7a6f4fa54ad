// Coalesced small writes (layer/fs/write-cache.ts) must be invisible: every
// call a guest makes, save the few that cannot observe a file, first writes
// out whatever any guest of the layer still holds. With nothing held that
// is one shared-memory load per call.

type Fns = Record<string, (...args: never[]) => unknown>;
type Loose = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown, g?: unknown, h?: unknown,
  i?: unknown, j?: unknown) => unknown;

/** Calls that see no file: nothing needs writing out before them. fd_write decides for itself (fd.ts). */
const BLIND = new Set([
  'fd_write', 'clock_time_get', 'clock_res_get', 'random_get', 'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get',
]);

/** `fns` with `flush` run before each call that could observe a file (`fns` itself without a flush). */
export function flushingFirst<T extends Fns>(fns: T, flush: (() => void) | undefined): T {
  if (!flush) return fns;
  const out: Fns = {};
  for (const [name, fn] of Object.entries(fns)) {
    if (BLIND.has(name)) {
      out[name] = fn;
      continue;
    }
    const call = fn as Loose;
    // Fixed parameters (no rest array per call), as syscall() has: this runs before most of a guest's calls.
    const wrapped = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown, g?: unknown, h?: unknown,
      i?: unknown, j?: unknown): unknown => {
      flush();
      return call(a, b, c, d, e, f, g, h, i, j);
    };
    // syscall() reads the arity (for traces and its fixed-parameter call).
    Object.defineProperty(wrapped, 'length', { value: fn.length });
    out[name] = wrapped as Fns[string];
  }
  return out as T;
}

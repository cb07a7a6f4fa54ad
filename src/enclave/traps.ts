// One-line descriptions of how a guest trapped, from V8's error messages.

const KNOWN: [RegExp, string][] = [
  [/^unreachable/, 'unreachable instruction executed'],
  [/memory access out of bounds/, 'out-of-bounds memory access'],
  [/divide by zero/, 'integer divide by zero'],
  [/(integer overflow|float unrepresentable)/, 'integer overflow'],
  [/table index is out of bounds|table access out of bounds/, 'out-of-bounds table access'],
  [/null function or function signature mismatch|function signature mismatch/, 'indirect call type mismatch'],
  [/call stack size exceeded/i, 'call stack exhausted'],
  [/called unknown import/, ''],
];

/** A guest trap's description, or undefined if `err` is not a trap. */
export function describeTrap(err: unknown): string | undefined {
  const isTrap = err instanceof WebAssembly.RuntimeError ||
    (err instanceof RangeError && /call stack size exceeded/i.test(err.message));
  if (!isTrap) return undefined;
  const message = (err as Error).message;
  for (const [re, text] of KNOWN) if (re.test(message)) return text || message;
  return message;
}

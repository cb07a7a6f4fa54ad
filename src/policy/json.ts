// JSON as policy and system files are read: JSON.parse keeps the last of two
// equal keys, so `"readOnly": true, "readOnly": false` would quietly make a
// mount writable. Any key given twice in one object is refused, with its line
// and column. A syntax error, too, is told by line and column (V8's message
// gives neither, only an excerpt).

/** Where in `text` offset `at` is, as "line L, column C" (1-based). */
function position(text: string, at: number): string {
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return `line ${line}, column ${at - before.lastIndexOf('\n')}`;
}

/** The first key that appears twice in one object of valid JSON `text`, with its position, or undefined. */
export function duplicateKey(text: string): { key: string; where: string } | undefined {
  // One entry per open container: the keys seen so far of an object, null for an array.
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') open.push(new Set());
    else if (c === '[') open.push(null);
    else if (c === '}' || c === ']') open.pop();
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      let next = i + 1;
      while (/\s/.test(text[next] ?? '')) next++;
      const keys = open[open.length - 1];
      if (text[next] !== ':' || !keys) continue;
      // Compared as decoded, so "a" and "\u0061" are the same key.
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (keys.has(key)) return { key, where: position(text, start) };
      keys.add(key);
    }
  }
  return undefined;
}

/** "value expected" for jsonc-parser's "ValueExpected". */
function words(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/**
 * `text` parsed as strict JSON, or one line naming where it stops being JSON
 * and why (`line 3, column 14: value expected, found ','`), or where a key is
 * given twice. The locating parser loads only when JSON.parse has refused.
 */
export async function parseJsonDocument(text: string): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const { parse, printParseErrorCode } = await import('jsonc-parser');
    const errors: { error: number; offset: number; length: number }[] = [];
    parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    if (!first) return { ok: false, message: `not valid JSON: ${(err as Error).message}` };
    const found = first.offset >= text.length ? 'the end of the file' : `'${text.slice(first.offset, first.offset + Math.max(1, Math.min(first.length, 20)))}'`;
    return { ok: false, message: `not valid JSON: ${position(text, first.offset)}: ${words(printParseErrorCode(first.error as never))}, found ${found}` };
  }
  const twice = duplicateKey(text);
  if (twice) return { ok: false, message: `${twice.where}: key '${twice.key}' appears twice in one object` };
  return { ok: true, value };
}

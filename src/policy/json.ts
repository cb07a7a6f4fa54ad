// JSON as policy and system files are read: JSON.parse keeps the last of two
// equal keys, so `"readOnly": true, "readOnly": false` would quietly make a
// mount writable. Any key given twice in one object is refused, with its line
// and column.

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

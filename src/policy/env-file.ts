// The environment file of `--env-file FILE`, in the dotenv format docker and
// Node (`node --env-file`) read: one `NAME=VALUE` a line, `export ` allowed
// before it, `#` comments and blank lines skipped; a value is bare (trimmed,
// ` #` starts a comment), 'single-quoted' (taken as is) or "double-quoted"
// (\n, \t, \", \\ understood). Those readers skip a line they do not
// understand; here it is refused with its line number, since a variable
// silently missing is a policy that is not what was written.

import { parseEnvName, parseEnvValue, type Parsed } from './values.js';

const LINE = /^\s*(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

/** The value after `=` as written on one line: bare, '...' or "...". */
function value(text: string): Parsed<string> {
  const quote = text[0];
  if (quote === "'" || quote === '"') {
    const end = quote === "'" ? text.indexOf("'", 1) : closingQuote(text);
    if (end < 0) return { ok: false, message: `the value has no closing ${quote} (a value is one line)` };
    const rest = text.slice(end + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) return { ok: false, message: `text after the closing ${quote}: '${rest}'` };
    const inner = text.slice(1, end);
    return { ok: true, value: quote === "'" ? inner : inner.replace(/\\(.)/g, (m, c: string) => ESCAPES[c] ?? m) };
  }
  return { ok: true, value: text.replace(/(^|\s)#.*$/, '').trim() };
}

function closingQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** The variables of an env file, or its first bad line as `line N: why`. */
export function parseEnvFile(text: string): Parsed<Record<string, string>> {
  const env: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const at = `line ${i + 1}`;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = LINE.exec(line);
    if (!m) return { ok: false, message: `${at}: expected NAME=VALUE` };
    const name = parseEnvName(m[1]);
    if (!name.ok) return { ok: false, message: `${at}: ${name.message}` };
    if (!NAME.test(name.value)) return { ok: false, message: `${at}: '${name.value}' is not a variable name (letters, digits, '_' and '.', not starting with a digit)` };
    const v = value(m[2]!);
    if (!v.ok) return { ok: false, message: `${at}: ${name.value}: ${v.message}` };
    const checked = parseEnvValue(v.value);
    if (!checked.ok) return { ok: false, message: `${at}: ${name.value}: ${checked.message}` };
    // Own entries only: a name such as __proto__ is a variable like any other.
    Object.defineProperty(env, name.value, { value: checked.value, enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, value: env };
}

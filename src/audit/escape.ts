// Guest-chosen text on its way into Capsule's own words: messages on the
// terminal, audit records, trace lines, the socket table. A guest must not
// be able to start a line of its own (a forged `capsule:` line), move the
// cursor or recolour the terminal, or reorder what the user reads, so every
// character that is not plain visible text is written as an escape, and
// every such string is bounded in length.
//
// Escaped: C0 controls and DEL (\n \r \t, else \xNN), C1 controls (\xNN:
// 0x9b is a CSI on many terminals), bidirectional controls, zero-width and
// line/paragraph separators, and lone surrogates (what invalid UTF-8 leaves
// in a JS string) as \uNNNN. A backslash is kept as it is, so escaping
// escaped text changes nothing: every layer may escape again safely.

/** The bound on one guest-chosen string in an audit record or message, in UTF-8 bytes (README, audit log). */
export const MAX_TEXT_BYTES = 256;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// C0, DEL, C1; ALM; zero-width, LRM/RLM; line and paragraph separators, LRE..RLO; word joiner..invisible
// operators, LRI..PDI; BOM; lone surrogates (with the u flag a lone one matches as itself).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]/gu;

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `s` with every unsafe character escaped (see above). */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

// What JSON.stringify leaves as it is but a terminal acts on: DEL, C1 and the invisible and bidirectional controls.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** JSON text with every character a terminal would act on written as \uNNNN: the same value, safe to print. */
export function escapeJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Room kept for the cut marker: "…[+" (5 bytes), up to 16 digits, " bytes]". */
const MARKER_BYTES = 28;

/**
 * `s` escaped and cut to at most `max` UTF-8 bytes, the cut marked
 * `…[+N bytes]` (N: bytes of `s` not shown). Only what is kept is escaped,
 * so a 16 MiB path costs little more than a short one. Applying it again to
 * its own result changes nothing.
 */
export function boundText(s: string, max = MAX_TEXT_BYTES): string {
  if (s.length <= max) {
    const e = escapeText(s);
    if (utf8Length(e) <= max) return e;
  }
  let out = '';
  let used = 0;
  let i = 0;
  for (const c of s) {
    const e = escapeText(c);
    const n = utf8Length(e);
    if (used + n > max - MARKER_BYTES) break;
    out += e;
    used += n;
    i += c.length;
  }
  return `${out}…[+${utf8Length(s.slice(i))} bytes]`;
}

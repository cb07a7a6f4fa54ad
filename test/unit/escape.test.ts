// Escaping guest-chosen text (src/audit/escape.ts): nothing a terminal
// obeys survives, visible text is kept, and the bound holds for any length.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { boundText, escapeText, MAX_TEXT_BYTES } from '../../src/audit/escape.js';

/** What must never reach a terminal or a log line raw. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const HOSTILE: [string, string][] = [
  ['\x1b[2J\x1b[1;1H', '\\x1b[2J\\x1b[1;1H'],
  ['x\ncapsule: forged', 'x\\ncapsule: forged'],
  ['x\rcapsule: forged', 'x\\rcapsule: forged'],
  ['\x9b31m', '\\x9b31m'],
  ['\x1b]0;title\x07', '\\x1b]0;title\\x07'],
  ['tab\there', 'tab\\there'],
  ['\x7f\x00', '\\x7f\\x00'],
  ['evil\u202etxt.exe', 'evil\\u202etxt.exe'],
  ['\u2066\u2067\u2068\u2069\u200e\u200f\u061c', '\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c'],
  ['a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
  ['zero\u200bwidth\ufeff', 'zero\\u200bwidth\\ufeff'],
  // What invalid UTF-8 leaves in a JS string: lone surrogates.
  ['\ud800x\udfff', '\\ud800x\\udfff'],
  // Visible text, accents, CJK and emoji (a surrogate pair) stay as they are.
  ['/data/café/日本/😀', '/data/café/日本/😀'],
  ['back\\slash \\x1b', 'back\\slash \\x1b'],
];

describe('escapeText', () => {
  it('escapes every control, C1, bidi and separator character and keeps visible text', () => {
    for (const [raw, want] of HOSTILE) assert.equal(escapeText(raw), want, JSON.stringify(raw));
  });

  it('leaves nothing unsafe in any string, and escaping twice changes nothing', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
      const e = escapeText(s);
      assert.doesNotMatch(e, UNSAFE);
      assert.equal(escapeText(e), e);
      assert.ok(!e.includes('\n') && !e.includes('\r') && !e.includes('\x1b'));
    }), { numRuns: 2000 });
  });

  it('every byte that decodes to a control character is escaped (invalid UTF-8 decoded leniently)', () => {
    for (let b = 0; b < 256; b++) {
      const text = new TextDecoder().decode(new Uint8Array([0x2f, b, 0xc2, b]));
      assert.doesNotMatch(escapeText(text), UNSAFE, `byte ${b}`);
    }
  });
});

describe('boundText', () => {
  const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

  it('keeps short text whole (escaped)', () => {
    assert.equal(boundText('/data/x\n'), '/data/x\\n');
  });

  it('cuts long text to the bound with a marker saying how much was cut', () => {
    const s = `/data/${'a'.repeat(1 << 20)}`;
    const b = boundText(s);
    assert.ok(bytes(b) <= MAX_TEXT_BYTES, `${bytes(b)} bytes`);
    const m = /^(\/data\/a+)…\[\+(\d+) bytes\]$/.exec(b);
    assert.ok(m, b);
    assert.equal(bytes(m[1]!) + Number(m[2]), bytes(s));
  });

  it('holds the bound for text made of escapes, multi-byte characters, and at every length', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), fc.integer({ min: 40, max: 600 }), (s, max) => {
      const b = boundText(s, max);
      assert.ok(bytes(b) <= max, `${bytes(b)} > ${max}`);
      assert.doesNotMatch(b, UNSAFE);
      assert.equal(boundText(b, max), b, 'bounding twice changes nothing');
    }), { numRuns: 1000 });
    assert.ok(bytes(boundText('\x1b'.repeat(10_000))) <= MAX_TEXT_BYTES);
    assert.ok(bytes(boundText('😀'.repeat(10_000))) <= MAX_TEXT_BYTES);
  });

  it('escapes only what it keeps: a 16 MiB string of escapes costs a length count, not a copy', () => {
    const huge = '\x1b'.repeat(16 << 20);
    const t = performance.now();
    for (let i = 0; i < 10; i++) boundText(huge);
    assert.ok(performance.now() - t < 1500, `${performance.now() - t} ms for 10 bounds of 16 MiB`);
  });
});

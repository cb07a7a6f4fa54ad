// `--invoke NAME [args]` (wasmtime's spelling): call an exported function of
// a module that has no `_start`. The JS API does not say an export's type, so
// it is read from the binary; arguments are parsed per parameter type and
// results printed as wasmtime prints them.

import { Reader, VALTYPES } from './import-types.js';

const TYPE_SECTION = 1;
const IMPORT_SECTION = 2;
const FUNCTION_SECTION = 3;
const EXPORT_SECTION = 7;

export type NumType = 'i32' | 'i64' | 'f32' | 'f64';
export interface FunctionType { params: string[]; results: string[] }
export type WasmValue = { type: NumType; value: number | bigint };

/** The type of the function `name` exports; undefined if it exports none of that name (or the binary cannot be read). */
export function exportedFunctionType(bytes: Uint8Array, name: string): FunctionType | undefined {
  try {
    const r = new Reader(bytes);
    const types: FunctionType[] = [];
    const functions: number[] = [];
    while (r.pos < bytes.length) {
      const id = r.byte();
      const end = r.u32() + r.pos;
      if (id === TYPE_SECTION) {
        for (let n = r.u32(); n > 0; n--) {
          if (r.byte() !== 0x60) return undefined;
          const params = Array.from({ length: r.u32() }, () => VALTYPES[r.byte()] ?? '?');
          types.push({ params, results: Array.from({ length: r.u32() }, () => VALTYPES[r.byte()] ?? '?') });
        }
      } else if (id === IMPORT_SECTION) {
        for (let n = r.u32(); n > 0; n--) {
          r.name(); r.name();
          const kind = r.byte();
          if (kind === 0x00) functions.push(r.u32());
          else if (kind === 0x01) { r.byte(); r.limits(); }
          else if (kind === 0x02) r.limits();
          else if (kind === 0x03) { r.byte(); r.byte(); }
          else if (kind === 0x04) { r.byte(); r.u32(); }
          else return undefined;
        }
      } else if (id === FUNCTION_SECTION) {
        for (let n = r.u32(); n > 0; n--) functions.push(r.u32());
      } else if (id === EXPORT_SECTION) {
        for (let n = r.u32(); n > 0; n--) {
          const exported = r.name();
          const kind = r.byte();
          const index = r.u32();
          if (exported === name && kind === 0x00) return types[functions[index] ?? -1];
        }
        return undefined;
      }
      r.pos = end;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

const isNum = (t: string): t is NumType => t === 'i32' || t === 'i64' || t === 'f32' || t === 'f64';

/** Why a function of this type cannot be called from the command line, or undefined. */
export function uninvokable(type: FunctionType): string | undefined {
  const p = type.params.findIndex((t) => !isNum(t));
  if (p >= 0) return `parameter ${p + 1} is ${type.params[p]}`;
  const q = type.results.findIndex((t) => !isNum(t));
  return q >= 0 ? `result ${q + 1} is ${type.results[q]}` : undefined;
}

const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$/i;

/** `text` as a value of `type`, as wasmtime reads it (decimal integers in the type's signed range, floats with inf and NaN); or why not. */
export function parseWasmArg(type: NumType, text: string): { ok: true; value: number | bigint } | { ok: false; message: string } {
  const bad = { ok: false as const, message: `'${text}' is not ${type === 'i32' || type === 'i64' ? 'an' : 'a'} ${type}` };
  if (type === 'i32' || type === 'i64') {
    if (!INTEGER.test(text)) return bad;
    const n = BigInt(text);
    const bits = type === 'i32' ? 31n : 63n;
    if (n < -(1n << bits) || n >= 1n << bits) return { ok: false, message: `'${text}' is out of range for ${type}` };
    return { ok: true, value: type === 'i32' ? Number(n) : n };
  }
  if (!FLOAT.test(text)) return bad;
  const lower = text.toLowerCase().replace(/^\+/, '');
  const v = lower.endsWith('nan') ? NaN : /inf/.test(lower) ? (lower.startsWith('-') ? -Infinity : Infinity) : Number(text);
  return { ok: true, value: type === 'f32' ? Math.fround(v) : v };
}

/** A number as Rust prints a float (wasmtime's output): no exponent, `inf`, `NaN`, the shortest digits that read back. */
function rustFloat(v: number, f32: boolean): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Object.is(v, -0)) return '-0';
  let digits = String(v);
  if (f32) {
    for (let p = 1; p <= 9; p++) {
      const candidate = Number(v.toPrecision(p));
      if (Math.fround(candidate) === v) { digits = String(candidate); break; }
    }
  }
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(digits);
  if (!m) return digits;
  // Written out in full, as Rust's Display does.
  const [, sign, lead, frac = '', exp] = m;
  const e = Number(exp);
  const all = lead! + frac;
  if (e >= 0) return sign + (all.length - 1 <= e ? all + '0'.repeat(e - all.length + 1) : `${all.slice(0, e + 1)}.${all.slice(e + 1)}`);
  return `${sign}0.${'0'.repeat(-e - 1)}${all}`;
}

/** One result as wasmtime prints it. */
export function formatWasmValue({ type, value }: WasmValue): string {
  if (type === 'i32' || type === 'i64') return String(value);
  return rustFloat(Number(value), type === 'f32');
}

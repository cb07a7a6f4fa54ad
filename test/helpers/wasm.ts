// A tiny WebAssembly binary writer, so tests can make odd modules (bad
// imports, missing exports) without a compiler or wat2wasm.

const I32 = 0x7f;
export const ValType = { I32 } as const;

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function name(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...u32(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return body.length === 0 ? [] : [id, ...u32(body.length), ...body];
}

export interface FuncType { params: number[]; results: number[] }
export type Import =
  | { module: string; name: string; kind: 'func'; type: number }
  | { module: string; name: string; kind: 'global'; valtype: number }
  | { module: string; name: string; kind: 'memory'; min: number; max?: number; shared?: boolean };
export interface Export { name: string; kind: 'func' | 'memory'; index: number }
export interface Func { type: number; body: number[] }

export interface ModuleSpec {
  types?: FuncType[];
  imports?: Import[];
  funcs?: Func[];
  memory?: number;
  exports?: Export[];
}

/** Encodes a module; function indices count imported functions first, as in the spec. */
export function wasmModule(m: ModuleSpec): Uint8Array {
  const types = (m.types ?? []).map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))]);
  const imports = (m.imports ?? []).map((i) => {
    const head = [...name(i.module), ...name(i.name)];
    if (i.kind === 'func') return [...head, 0x00, ...u32(i.type)];
    if (i.kind === 'global') return [...head, 0x03, i.valtype, 0x00];
    const flags = (i.max !== undefined ? 0x01 : 0) | (i.shared ? 0x02 : 0);
    return [...head, 0x02, flags, ...u32(i.min), ...(i.max !== undefined ? u32(i.max) : [])];
  });
  const funcs = (m.funcs ?? []).map((f) => u32(f.type));
  const memories = m.memory === undefined ? [] : [[0x00, ...u32(m.memory)]];
  const exports = (m.exports ?? []).map((e) => [...name(e.name), e.kind === 'func' ? 0x00 : 0x02, ...u32(e.index)]);
  const code = (m.funcs ?? []).map((f) => {
    const body = [0x00, ...f.body, 0x0b]; // no locals; instructions; end
    return [...u32(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...(types.length ? section(1, vec(types)) : []),
    ...(imports.length ? section(2, vec(imports)) : []),
    ...(funcs.length ? section(3, vec(funcs)) : []),
    ...(memories.length ? section(5, vec(memories)) : []),
    ...(exports.length ? section(7, vec(exports)) : []),
    ...(code.length ? section(10, vec(code)) : []),
  ];
  return new Uint8Array(bytes);
}

/** Instructions: i32.const n (small non-negative n), call f. */
export const op = {
  i32Const: (n: number): number[] => [0x41, ...signedLeb(n)],
  call: (f: number): number[] => [0x10, ...u32(f)],
  /** i32.store at a constant address of a constant value. */
  store: (addr: number, value: number): number[] => [0x41, ...signedLeb(addr), 0x41, ...signedLeb(value), 0x36, 0x02, 0x00],
  /** memory.grow by `pages`, result on the stack (-1 when refused). */
  grow: (pages: number): number[] => [0x41, ...signedLeb(pages), 0x40, 0x00],
  drop: [0x1a],
  i32Eq: [0x46],
  /** if (no result) ... end */
  ifThen: (body: number[]): number[] => [0x04, 0x40, ...body, 0x0b],
};

function signedLeb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

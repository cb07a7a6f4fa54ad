// The import graph between the top-level folders of src/ (one folder, one
// architectural part), read from the TypeScript sources so that type-only
// imports count too, and the cycles in it; and the modules of the build a
// thread loads from its entry (what its code can reach).

import fs from 'node:fs';
import path from 'node:path';

/** Folder -> the folders it imports from (itself excluded). */
export type FolderGraph = Map<string, Set<string>>;

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

function sourcesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourcesUnder(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The folder graph of `srcDir`; each edge also keeps one file that makes it, for the failure message. */
export function folderGraph(srcDir: string): { graph: FolderGraph; witness: Map<string, string> } {
  const graph: FolderGraph = new Map();
  const witness = new Map<string, string>();
  for (const file of sourcesUnder(srcDir)) {
    const from = path.relative(srcDir, file).split(path.sep)[0]!;
    if (!graph.has(from)) graph.set(from, new Set());
    for (const m of fs.readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const target = path.relative(srcDir, path.resolve(path.dirname(file), m[1]!));
      const to = target.split(path.sep)[0]!;
      if (to === from || to.startsWith('..') || !target.includes(path.sep)) continue;
      graph.get(from)!.add(to);
      if (!witness.has(`${from}->${to}`)) witness.set(`${from}->${to}`, `${path.relative(srcDir, file)} imports ${m[1]}`);
    }
  }
  return { graph, witness };
}

/** Strongly connected components with more than one folder (Tarjan): every import cycle lies in one. */
export function cycles(graph: FolderGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Every module of the build reachable from `entry` through relative static or dynamic imports, with its text. */
export function reachable(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    seen.set(file, text);
    for (const m of text.matchAll(SPECIFIER)) todo.push(path.resolve(path.dirname(file), m[1]!));
  }
  return seen;
}

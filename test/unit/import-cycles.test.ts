// The architecture has layers: no top-level folder of src/ may import,
// directly or through others, from a folder that imports it back.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { cycles, folderGraph, type FolderGraph } from '../helpers/import-graph.js';

const graphOf = (edges: Record<string, string[]>): FolderGraph =>
  new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));

describe('import cycles between the parts of src/', () => {
  it('there are none', () => {
    const { graph, witness } = folderGraph(path.join(ROOT, 'src'));
    assert.ok(graph.size >= 8, `expected the parts of src/, found ${[...graph.keys()].join(', ')}`);
    const found = cycles(graph);
    const explain = found.map((scc) => scc.join(' <-> ') + ':\n' +
      scc.flatMap((a) => scc.filter((b) => graph.get(a)!.has(b)).map((b) => `    ${witness.get(`${a}->${b}`)}`)).join('\n'));
    assert.deepEqual(found, [], `import cycles:\n${explain.join('\n')}`);
  });

  it('core imports from no other part', () => {
    const { graph } = folderGraph(path.join(ROOT, 'src'));
    assert.deepEqual([...(graph.get('core') ?? [])], []);
  });

  it('the check finds a cycle, however long, and ignores a chain', () => {
    assert.deepEqual(cycles(graphOf({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] })), [['a', 'b', 'c']]);
    assert.deepEqual(cycles(graphOf({ a: ['b'], b: ['c'], c: [] })), []);
  });

  it('the check reads static, type-only and dynamic imports from sources', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-imports-'));
    try {
      for (const [f, text] of Object.entries({
        'x/a.ts': "import type { B } from '../y/b.js';\n",
        'y/b.ts': "export type B = 1;\nexport const c = () => import('../z/c.js');\n",
        'z/c.ts': "export { a } from '../x/a.js';\nimport './local.js';\n",
      })) {
        fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), text);
      }
      assert.deepEqual(cycles(folderGraph(dir).graph), [['x', 'y', 'z']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The README's performance tables are generated from the committed results
// file: the section in README.md must be exactly what the file renders to, so
// a figure typed by hand, or a results file committed without regenerating
// the README (`npm run bench:readme`), fails here.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RESULTS_FILE } from '../../bench/lib/cases.js';
import { BEGIN, END, checkResults, currentSection, renderPerformance, replaceSection } from '../../bench/lib/readme.js';
import { ROOT } from '../helpers/cli.js';

const readme = (): string => fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const results = (): unknown => JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8'));

describe('README performance section', () => {
  it('the results file has every case the tables are made from', () => {
    const r = checkResults(results());
    const ids = r.wasi!.cases.map((c) => c.id);
    for (const id of ['startup', 'startup_in_process', 'small_writes', 'file_writes', 'file_writes_uncached', 'read_chunks', 'wordcount', 'compute']) {
      assert.ok(ids.includes(id), `case ${id} missing from ${path.relative(ROOT, RESULTS_FILE)}`);
    }
    assert.ok(r.wasi!.startupSteps, 'start-up steps missing');
  });

  it('is exactly what the results file renders to', () => {
    assert.equal(currentSection(readme()), renderPerformance(checkResults(results())));
  });

  it('a changed figure in the results changes the section', () => {
    const r = checkResults(results());
    const before = renderPerformance(r);
    r.wasi!.cases[0]!.summary.secure.medianMs = 123456.7;
    const after = renderPerformance(r);
    assert.notEqual(after, before);
    assert.match(after, /123456\.7 ms/);
  });

  it('replacing keeps everything outside the markers', () => {
    const doc = `head\n${BEGIN}\nold\n${END}\ntail\n`;
    assert.equal(replaceSection(doc, `${BEGIN}\nnew\n${END}`), `head\n${BEGIN}\nnew\n${END}\ntail\n`);
    assert.throws(() => replaceSection('no markers', 'x'), /markers are missing/);
  });

  it('a results file without its cases is refused with the reason', () => {
    assert.throws(() => checkResults({}), /no "wasi" part/);
    assert.throws(() => checkResults({ wasi: { cases: [{ id: 'x' }] } }), /lacks its title/);
  });
});

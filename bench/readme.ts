// `npm run bench:readme`: rewrites the README's generated performance section
// from bench/results.json (what the last `npm run bench` of each part measured).

import fs from 'node:fs';
import path from 'node:path';
import { RESULTS_FILE } from './lib/cases.js';
import { checkResults, renderPerformance, replaceSection } from './lib/readme.js';

const readmeFile = path.join(path.dirname(RESULTS_FILE), '..', 'README.md');
try {
  const results = checkResults(JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')));
  const readme = fs.readFileSync(readmeFile, 'utf8');
  const next = replaceSection(readme, renderPerformance(results));
  fs.writeFileSync(readmeFile, next);
  console.log(next === readme ? 'README.md: performance section already up to date' : 'README.md: performance section rewritten');
} catch (err) {
  console.error(`bench:readme: ${(err as Error).message}`);
  process.exit(1);
}

// `npm run bench:readme`: rewrites the README's generated performance sections
// from bench/results.json (what the last `npm run bench` of each part measured).

import fs from 'node:fs';
import path from 'node:path';
import { RESULTS_FILE } from './lib/cases.js';
import { checkResults, renderReadme } from './lib/readme.js';

const readmeFile = path.join(path.dirname(RESULTS_FILE), '..', 'README.md');
try {
  const results = checkResults(JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')));
  const readme = fs.readFileSync(readmeFile, 'utf8');
  const next = renderReadme(readme, results);
  fs.writeFileSync(readmeFile, next);
  console.log(next === readme ? 'README.md: performance sections already up to date' : 'README.md: performance sections rewritten');
} catch (err) {
  console.error(`bench:readme: ${(err as Error).message}`);
  process.exit(1);
}

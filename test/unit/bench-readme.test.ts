// The README's performance tables are generated from the committed results
// file: every generated section in README.md (the main table and each part's:
// suspend, density, time to stop, http, host memory, fairness, layer memory)
// must be exactly what the file renders to, so a figure typed by hand, or a
// results file committed without regenerating the README
// (`npm run bench:readme`), fails here.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RESULTS_FILE } from '../../bench/lib/cases.js';
import {
  BEGIN, END, PART_SECTIONS, checkResults, currentPart, currentSection, partBegin, partEnd, renderPart, renderPerformance, renderReadme, replaceSection,
  type Results,
} from '../../bench/lib/readme.js';
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

  it('every part\'s section is exactly what the results file renders to', () => {
    const text = readme();
    const r = checkResults(results());
    for (const { id } of PART_SECTIONS) {
      assert.ok(currentPart(text, id), `README.md has no generated section '${id}'`);
      assert.equal(currentPart(text, id), renderPart(r, id), `section '${id}'`);
    }
    assert.equal(renderReadme(text, r), text);
  });

  it('a part not measured yet says so, naming the command that measures it', () => {
    const r = checkResults(results());
    const bare: Results = { ...(r.wasi ? { wasi: r.wasi } : {}) };
    for (const { id } of PART_SECTIONS) assert.match(renderPart(bare, id), /not measured in `bench\/results\.json` yet \(`npm run bench -- --only [a-z]+`/, id);
  });

  it('each part\'s figures, and whether they meet their goals, come from its results', () => {
    const info = { date: '2030-01-02T03:04:05.000Z', machine: { cpu: 'Test CPU', cpus: 2, memoryGiB: 8, node: 'v20.0.0', os: 'linux' }, config: { loadAverageAtStart: [1.5, 1, 1] } };
    const r: Results = {
      suspend: { ...info, config: { ...info.config, suspendRounds: 4 }, results: {
        computeMs: { unprepared: 1000, suspendable: 1111, ratio: 1.111, goal: 1.3, rounds: 9, ratioRange: [0.95, 1.4],
          cpu: { unprepared: 900, suspendable: 1260, ratio: 1.4, ratioRange: [1.35, 1.45] } },
        sealMs: 287.6, resumeMs: 333.3, freshStartMs: 250, snapshotBytes: 100 * 1048576, memoryBytes: 99 * 1048576,
        warmStart: { initMs: 300, freshMs: 400, resumedMs: 60, ratio: 0.15, goal: 0.2, snapshotBytes: 8 << 20 },
        system: { guests: 10, runningRssBytes: 100 * 1048576, memoryBytes: 20 * 1048576, snapshotBytes: 5 * 1048576, sealMs: 120, resumeMs: 700, freshStartMs: 1400 },
      } },
      fleet: { ...info, results: {
        jobs: 300, baselineRuns: 30, baselinePerSecond: 5, oneWorkerPerSecond: 40, twoWorkersPerSecond: 55, ratio: 11, redisCommandsPerJob: 37.06,
        workerCpuMsPerJob: { one: 45.37, two: 46 }, threadStartCpuMs: 30.2, concurrency: 2,
        latency: { ratePerSecond: 20, jobs: 200, p50: 18, p99: 40, p50AboveRun: 7, p99AboveRun: 25.55,
          parts: { submit: { p50: 2, p99: 6 }, queued: { p50: -0.02, p99: 2.5 }, worker: { p50: 3, p99: 17 }, event: { p50: 2, p99: 9 } } },
      } },
      density: { ...info, results: {
        idle: [{ guests: 1, startMs: 100, figures: { rssMiB: 70, threads: 12, cpuMs: 200 } }, { guests: 50, startMs: 1234, figures: { rssMiB: 511, threads: 61, cpuMs: 1700 } }],
        perGuest: { rssMiB: 9, cpuMs: 30.6, threads: 1 },
        suspended: { guests: 50, empty: { rssMiB: 150, threads: 12, cpuMs: 1 }, running: { rssMiB: 600, threads: 62, cpuMs: 2 },
          suspended: { rssMiB: 161, threads: 12, cpuMs: 3 }, suspendMs: 42, snapshotBytesPerGuest: 200 * 1024 },
      } },
      containment: { ...info, config: { ...info.config, containmentRounds: 3 }, results: {
        stops: [
          { scenario: 'spin', title: 'spinning, no calls', stop: 'timeout', load: 'quiet', samples: [5, 9, 7] },
          { scenario: 'spin', title: 'spinning, no calls', stop: 'timeout', load: 'busy', samples: [20, 131, 30] },
        ],
        memory: { limitMiB: 16, plainMiB: 70, cases: [{ id: 'tables', title: 'four tables grown', peakMiB: 75 }, { id: 'big', title: 'a flood', peakMiB: 170 }] },
      } },
      fairness: { ...info, config: { ...info.config, fairnessRounds: 3, fairnessProbes: 5000 }, results: [
        { id: 'quiet', title: 'nothing (quiet layer)', rtt: { p50: 60_000, p99: 300_000, max: 6_000_000 }, call: { p50: 100_000, p99: 400_000, max: 5_000_000 } },
        { id: 'churn', title: 'socket churn', rtt: { p50: 60_000, p99: 900_000, max: 6_000_000 }, call: { p50: 100_000, p99: 400_000, max: 5_000_000 } },
      ] },
      layer: { ...info, results: [
        { id: 'plain', title: 'a plain run', ms: 0, guests: 1, peakMiB: 74 },
        { id: 'churn', title: 'sock_open + close in a loop', ms: 3000, guests: 1, peakMiB: 100 },
      ] },
      http: { ...info, config: { ...info.config, httpRounds: 3, httpSeconds: 3, httpConnections: 8 }, results: [
        { id: 'published', title: 'darkhttpd', unit: 'requests/s', baseline: 'native', samples: { native: [30000], secure: [15000], normal: [12000] } },
      ] },
    };
    const part = (id: string): string => renderPart(r, id);
    assert.match(part('suspend'), /\| 1111 ms \| 1\.11x \(rounds 0\.95x-1\.40x\) \| ≤ 1\.3x \| yes \|/);
    assert.match(part('suspend'), /\| 288 ms \| - \| < 300 ms \| yes \|/);
    assert.match(part('suspend'), /guest thread's CPU time \| 900 ms \| 1260 ms \| 1\.40x \(rounds 1\.35x-1\.45x\) \| ≤ 1\.3x \| no \|/);
    assert.match(part('suspend'), /a fresh start to the same state, from `start\(\)`: 250 ms \| 333 ms \| \+83 ms \| ≤ fresh \+ 50 ms \| no \|/);
    assert.match(part('suspend'), /\| 60 ms \| 0\.15x \| ≤ 0\.2x \| yes \|/);
    assert.match(part('suspend'), /medians of 4 rounds .*9 alternating rounds/);
    assert.match(part('suspend'), /2-vCPU Test CPU, 8 GiB, Node\.js 20\.0\.0, linux, 2030-01-02, load average 1\.5 1\.0 1\.0 at the start/);
    assert.match(part('suspend'), /A system of 10 idle guests .*grew by 100\.0 MiB \(10\.0 MiB a guest\).*a file of 5\.0 MiB \(0\.25x the guests' 20\.0 MiB of memory\).*sealing took 120 ms, resuming to every guest running 700 ms against 1400 ms/);
    assert.match(part('fleet'), /\| fleet, 2 workers \(300 jobs\) \| 55\.0 \| 11\.0x \|/);
    assert.match(part('fleet'), /Goal ≥ 10x: met \(11\.0x\)\. Worker CPU per job: 45\.4 ms with one worker, 46\.0 ms with two, of which 30\.2 ms starts/);
    assert.match(part('fleet'), /p99 25\.6 ms \(goal p99 < 20 ms: not met\); of that, p50 \/ p99: the submit call 2\.0 \/ 6\.0 ms, queued 0\.0 \/ 2\.5 ms/);
    // With the fresh-thread-per-job worker measured too (results from before it lack it).
    const withFresh = renderPart({ fleet: { ...r.fleet!, results: { ...r.fleet!.results!, freshThreadPerSecond: 42.5, workerCpuMsPerJob: { one: 12.34, two: 13, fresh: 47.5 } } } }, 'fleet');
    assert.match(withFresh, /\| fleet, 1 worker, `--fresh-thread-per-job` \(300 jobs\) \| 42\.5 \| 8\.5x \|/);
    assert.match(withFresh, /Worker CPU per job: 12\.3 ms with one worker, 13\.0 ms with two, 47\.5 ms with one starting an enclave thread per job \(a thread's start alone: 30\.2 ms\)\. Redis/);
    assert.match(part('density'), /\| 50 \| 1234 ms \| 511 MiB \| 61 \| 1700 ms \|/);
    assert.match(part('density'), /9\.0 MiB, 30\.6 ms of CPU/);
    assert.match(part('density'), /150 MiB and 12 threads before any guest, 600 MiB and 62 threads with them idle, and 161 MiB and 12 threads once all are sealed; a suspended guest is 200 KiB/);
    assert.match(part('time to stop'), /\| spinning, no calls \| 7 \/ 131 \| - \| - \| - \|/);
    assert.match(part('time to stop'), /Worst of all: 131 ms \(not met\)/);
    assert.match(part('host memory'), /\| four tables grown \| 75 MiB \| 5 MiB \| yes \|/);
    assert.match(part('host memory'), /\| a flood \| 170 MiB \| 100 MiB \| no \|/);
    assert.match(part('fairness'), /\| socket churn \| 60 \/ 900 \/ 6000 \| 3\.00x \| 100 \/ 400 \/ 5000 \| 1\.00x \| no \|/);
    assert.match(part('fairness'), /5,000 one-byte round trips/);
    assert.match(part('layer memory'), /\| sock_open \+ close in a loop \(one guest, 16 MiB\) \| 3 s \| 100 MiB \| 26 MiB \/ 16 MiB = 1\.6x \| yes \|/);
    assert.match(part('layer memory'), /a plain run of one guest is 74 MiB/);
    assert.match(part('http'), /native 30 000 requests\/s, secure 15 000 \(0\.50x\), normal 12 000 \(0\.40x\)/);
  });

  it('a README without a part\'s markers is refused, naming the section', () => {
    const r = checkResults(results());
    const text = readme().replace(partBegin('fairness'), '').replace(partEnd('fairness'), '');
    assert.throws(() => renderReadme(text, r), /markers of the generated section 'fairness' are missing/);
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

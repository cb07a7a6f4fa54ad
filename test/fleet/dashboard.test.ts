// The dashboard in a real browser (Debian's chromium driven by
// puppeteer-core): Bull Board lists the queue, a job's page shows its result,
// audit records and usage, and guest output on it stays text. Screenshots go
// to test-output/ (not tracked).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import puppeteer from 'puppeteer-core';
import { Fleet, redisConnection } from '../../src/fleet/index.js';
import { ROOT } from '../helpers/cli.js';
import { GUEST, startCapsule, startWorker } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';

const ADMIN = 'admin-token-0123456789';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-output');

describe('fleet dashboard', () => {
  it('shows the queue in Bull Board and a job page with result, audit and usage', async () => {
    const redis = await startRedis();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-dash-'));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify({ tokens: [{ token: ADMIN, tenant: 'ops', admin: true }] }));
    const worker = await startWorker(redis.url);
    const server = startCapsule(['serve', '--redis', redis.url, '--http', '0', '--tokens', path.join(dir, 'tokens.json')]);
    const fleet = new Fleet({ connection: redisConnection(redis.url) });
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const base = `http://${(await server.waitFor(/serving on http:\/\/(\S+)/))[1]}`;
      const cat = await fleet.putModule(fs.readFileSync(GUEST('cat')));
      // Output that would be markup if it were not escaped.
      const { id } = await fleet.submit({ module: cat, stdin: Buffer.from('<script>document.title="owned"</script><b id="x">bold</b>').toString('base64') });
      await fleet.result(id, 20_000);
      fs.mkdirSync(SHOTS, { recursive: true });

      const page = await browser.newPage();
      await page.setExtraHTTPHeaders({ authorization: `Bearer ${ADMIN}` });
      await page.setViewport({ width: 1280, height: 800 });
      const board = await page.goto(`${base}/dashboard`, { waitUntil: 'networkidle0' });
      assert.equal(board?.status(), 200);
      await page.waitForFunction(() => document.body.innerText.includes('{jobs}'), { timeout: 20_000 });
      assert.match(await page.title(), /Capsule fleet/);
      await page.screenshot({ path: path.join(SHOTS, 'fleet-dashboard.png') });

      const jobPage = await page.goto(`${base}/jobs/${id}`, { waitUntil: 'load' });
      assert.equal(jobPage?.status(), 200);
      assert.equal(await page.$eval('#stdout', (e) => e.textContent), '<script>document.title="owned"</script><b id="x">bold</b>');
      assert.equal(await page.$('#x'), null, 'guest output is not markup');
      assert.match(await page.title(), new RegExp(`Capsule job ${id}`));
      const summary = await page.$eval('#summary', (e) => (e as HTMLElement).innerText);
      assert.match(summary, /state\s+completed/);
      assert.match(summary, /attempts\s+1/);
      const audit = await page.$eval('#audit', (e) => (e as HTMLElement).innerText);
      assert.match(audit, /allow\s+start/);
      assert.match(audit, /allow\s+exit/);
      assert.match(await page.$eval('#usage', (e) => e.textContent ?? ''), /"peakMemory"/);
      await page.screenshot({ path: path.join(SHOTS, 'fleet-job.png'), fullPage: true });
      assert.ok(fs.statSync(path.join(SHOTS, 'fleet-job.png')).size > 1000);
    } finally {
      await browser.close();
      await fleet.close();
      server.kill('SIGTERM');
      worker.kill('SIGTERM');
      await Promise.all([server.exited, worker.exited]);
      await redis.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

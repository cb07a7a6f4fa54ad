// The dashboard: Bull Board (made for BullMQ) at /dashboard for the queues,
// jobs and workers, read-only and for admin tokens only, plus a page per job
// (/jobs/ID) with its result, audit records and usage. Everything on that
// page came from a guest or a submitter: every value is HTML-escaped.

import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, Response } from 'express';
import type { Fleet, JobStatus } from './client.js';

export const DASHBOARD_PATH = '/dashboard';

export function mountDashboard(app: Express, fleet: Fleet, isAdmin: (res: Response) => boolean): void {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(fleet.bullQueue as never, { readOnlyMode: true })],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Capsule fleet' } },
  });
  app.use(DASHBOARD_PATH, (_req, res, next) => {
    if (!isAdmin(res)) { res.status(403).json({ error: 'the dashboard needs an admin token' }); return; }
    next();
  }, adapter.getRouter());
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Output bytes as text: invalid UTF-8 replaced, control characters but newline and tab shown as U+FFFD. */
const asText = (base64: string): string =>
  Buffer.from(base64, 'base64').toString('utf8').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd');

export function jobPage(s: JobStatus): string {
  const r = s.result;
  const row = (k: string, v: string): string => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  const rows = [
    row('job', s.id), row('state', s.state), row('tenant', s.tenant), row('submitted', new Date(s.submittedAt).toISOString()),
    ...(r ? [
      row('exit code', `${r.exitCode} (from the ${r.exitCodeFrom})`),
      row('ended', r.outcome.kind === 'exit' ? `exit ${r.outcome.code}` : `${r.outcome.kind}: ${'message' in r.outcome ? r.outcome.message : ''}`),
      row('cancelled', String(r.cancelled)), row('worker', r.worker), row('attempts', String(r.attempts)),
    ] : []),
  ].join('\n');
  const audit = r ? r.audit.records.map((a) => `<tr><td>${escapeHtml(a.decision)}</td><td>${escapeHtml(a.op)}</td><td>${escapeHtml(a.target)}</td><td>${escapeHtml(a.reason)}</td></tr>`).join('\n') : '';
  const section = (title: string, body: string): string => `<h2>${escapeHtml(title)}</h2>\n${body}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Capsule job ${escapeHtml(s.id)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}th{text-align:left;padding-right:1em}td,th{vertical-align:top;border-bottom:1px solid #ddd;padding:2px 6px}pre{background:#f4f4f4;padding:8px;white-space:pre-wrap;word-break:break-all}</style>
</head><body>
<h1>Job ${escapeHtml(s.id)}</h1>
<p><a href="/dashboard">queues</a></p>
<table id="summary">${rows}</table>
${r ? section('stdout', `<pre id="stdout">${escapeHtml(asText(r.stdout.base64))}</pre>${r.stdout.cut ? `<p>${r.stdout.cut} bytes cut from the middle</p>` : ''}`) : ''}
${r ? section('stderr', `<pre id="stderr">${escapeHtml(asText(r.stderr.base64))}</pre>`) : ''}
${r ? section('files', `<ul>${r.files.map((f) => `<li>${escapeHtml(f.path)} (${f.bytes} bytes)</li>`).join('')}</ul>`) : ''}
${r ? section(`audit (${r.audit.records.length} records${r.audit.dropped ? `, ${r.audit.dropped} more not kept` : ''})`, `<table id="audit"><tr><th>decision</th><th>op</th><th>target</th><th>reason</th></tr>${audit}</table>`) : ''}
${r ? section('usage', `<pre id="usage">${escapeHtml(JSON.stringify(r.usage, null, 2))}</pre>`) : ''}
</body></html>
`;
}

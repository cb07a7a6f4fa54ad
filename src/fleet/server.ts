// `capsule serve`: the fleet's HTTP JSON API (routes in ROUTES, described by
// schema/fleet-openapi.json) and its dashboard. Every request carries a
// bearer token naming its tenant; every body is size-limited and checked
// before use; every refusal is one JSON line `{"error": "..."}` naming the cause.

import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { escapeText } from '../audit/escape.js';
import type { ParsedPolicy } from '../policy/document.js';
import { duplicateKey } from '../policy/json.js';
import { DEFAULT_CEILING } from './ceiling.js';
import { Fleet, type JobStatus } from './client.js';
import { mountDashboard, jobPage } from './dashboard.js';
import { JOB_LIMITS } from './job.js';
import type { TokenGrant, Tokens } from './tokens.js';

export interface ServerOptions {
  connection: ConnectionOptions;
  port: number;
  host: string;
  tokens: Tokens;
  queue?: string;
  ceiling?: ParsedPolicy;
}

/** Every route the server answers; the OpenAPI file describes exactly these (a test holds them together). */
export const ROUTES = [
  { method: 'get', path: '/openapi.json' },
  { method: 'post', path: '/v1/modules' },
  { method: 'post', path: '/v1/jobs' },
  { method: 'get', path: '/v1/jobs/{id}' },
  { method: 'delete', path: '/v1/jobs/{id}' },
  { method: 'get', path: '/v1/jobs/{id}/result' },
  { method: 'get', path: '/v1/jobs/{id}/output/{stream}' },
  { method: 'get', path: '/v1/workers' },
  { method: 'get', path: '/jobs/{id}' },
] as const;

/** schema/fleet-openapi.json of the package, found upwards from this file (dist/src/fleet or the bundle in dist/bundle). */
export function openapiFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'schema', 'fleet-openapi.json');
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new CapsuleError(ExitCode.INTERNAL, 'schema/fleet-openapi.json is missing from the installation');
    dir = up;
  }
}

/** The longest a GET .../result?wait=S waits. */
const MAX_WAIT_S = 60;

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

const STATUS_OF: Partial<Record<number, number>> = {
  [ExitCode.USAGE]: 400, [ExitCode.CONFIG]: 400, [ExitCode.BAD_MODULE]: 400, [ExitCode.NO_INPUT]: 422,
};

/** The request's tenant grant (set by the auth middleware). */
const grantOf = (res: Response): TokenGrant => res.locals.grant as TokenGrant;

/** A JSON body: UTF-8, valid JSON, no key twice in one object (the last would win silently). */
function jsonBody(req: Request): unknown {
  if (!req.is('application/json')) throw new HttpError(415, 'the body must be application/json');
  if (!Buffer.isBuffer(req.body)) throw new HttpError(400, 'no body');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(req.body);
  } catch {
    throw new HttpError(400, 'the body is not UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
  const twice = duplicateKey(text);
  if (twice) throw new HttpError(400, `${twice.where}: key '${twice.key}' appears twice in one object`);
  return value;
}

function jobId(req: Request): string {
  const id = String(req.params.id ?? '');
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new HttpError(400, 'id: expected a job id (letters, digits and -)');
  return id;
}

/** The job if it exists and the caller may see it; another tenant's job is "no such job", as one that does not exist. */
async function visibleJob(fleet: Fleet, req: Request, res: Response): Promise<JobStatus> {
  const id = jobId(req);
  const status = await fleet.status(id);
  const grant = grantOf(res);
  if (!status || (!grant.admin && status.tenant !== grant.tenant)) throw new HttpError(404, `job ${id}: no such job`);
  return status;
}

/** The job's status without its bulky parts. */
function summary(s: JobStatus): Record<string, unknown> {
  const r = s.result;
  return {
    id: s.id, state: s.state, tenant: s.tenant, submittedAt: s.submittedAt,
    ...(r ? { exitCode: r.exitCode, outcome: r.outcome, cancelled: r.cancelled, attempts: r.attempts, worker: r.worker } : {}),
  };
}

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => { h(req, res).catch(next); };

export function buildApp(fleet: Fleet, tokens: Tokens, ceiling: ParsedPolicy): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const openapi = fs.readFileSync(openapiFile());
  app.get('/openapi.json', (_req, res) => { res.type('application/json').send(openapi); });

  app.use((req, res, next) => {
    const grant = tokens.grantOf(req.get('authorization'));
    if (!grant) {
      res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'a valid bearer token is required (Authorization: Bearer TOKEN)' });
      return;
    }
    res.locals.grant = grant;
    next();
  });

  // Bodies are read as bytes whatever their type (checked by the route), compressed ones refused (no inflation bombs).
  const raw = (limit: number) => express.raw({ limit, type: () => true, inflate: false });

  app.post('/v1/modules', raw(JOB_LIMITS.moduleBytes), wrap(async (req, res) => {
    if (!Buffer.isBuffer(req.body) || req.body.byteLength === 0) throw new HttpError(400, 'module: the body is empty');
    res.status(201).json({ sha256: await fleet.putModule(req.body) });
  }));

  app.post('/v1/jobs', raw(JOB_LIMITS.requestBytes), wrap(async (req, res) => {
    const body = jsonBody(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'job: expected a JSON object');
    const grant = grantOf(res);
    const asked = (body as { tenant?: unknown }).tenant;
    if (asked !== undefined && asked !== grant.tenant) throw new HttpError(403, `tenant: this token submits for tenant '${grant.tenant}' only`);
    const { id, duplicate } = await fleet.submit({ ...(body as object), tenant: grant.tenant } as never);
    res.status(duplicate ? 200 : 201).json({ id, duplicate });
  }));

  app.get('/v1/jobs/:id', wrap(async (req, res) => { res.json(summary(await visibleJob(fleet, req, res))); }));

  app.delete('/v1/jobs/:id', wrap(async (req, res) => {
    const status = await visibleJob(fleet, req, res);
    res.json({ id: status.id, state: await fleet.cancel(status.id) });
  }));

  app.get('/v1/jobs/:id/result', wrap(async (req, res) => {
    const waitText = typeof req.query.wait === 'string' ? req.query.wait : '0';
    if (!/^\d{1,3}$/.test(waitText) || Number(waitText) > MAX_WAIT_S) throw new HttpError(400, `wait: expected whole seconds from 0 to ${MAX_WAIT_S}`);
    const wait = Number(waitText);
    const status = await visibleJob(fleet, req, res);
    if (status.result) { res.json(status.result); return; }
    if (wait === 0) throw new HttpError(409, `job ${status.id}: not finished (state ${status.state})`);
    try {
      res.json(await fleet.result(status.id, wait * 1000));
    } catch {
      throw new HttpError(409, `job ${status.id}: not finished after ${wait} s`);
    }
  }));

  app.get('/v1/jobs/:id/output/:stream', wrap(async (req, res) => {
    const stream = req.params.stream;
    if (stream !== 'stdout' && stream !== 'stderr') throw new HttpError(400, 'stream: expected stdout or stderr');
    const status = await visibleJob(fleet, req, res);
    if (!status.result) throw new HttpError(409, `job ${status.id}: not finished (state ${status.state})`);
    res.type('application/octet-stream').send(Buffer.from(status.result[stream].base64, 'base64'));
  }));

  app.get('/v1/workers', wrap(async (_req, res) => { res.json({ workers: await fleet.workers() }); }));

  app.get('/jobs/:id', wrap(async (req, res) => {
    const status = await visibleJob(fleet, req, res);
    res.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'").type('text/html').send(jobPage(status));
  }));

  mountDashboard(app, fleet, (res) => grantOf(res).admin);

  app.use((req, res) => { res.status(404).json({ error: `no such route: ${req.method} ${escapeText(req.path)}` }); });

  // Every error, including the body parser's, as one JSON line.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string; limit?: number };
    let status = 500;
    let message = 'internal error';
    if (err instanceof HttpError) { status = err.status; message = err.message; }
    else if (err instanceof CapsuleError) { status = STATUS_OF[err.exitCode] ?? 500; message = err.message; }
    else if (e.type === 'entity.too.large') { status = 413; message = `the body is larger than the limit of ${e.limit} bytes`; }
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) { status = e.status; message = e.message ?? 'bad request'; }
    else process.stderr.write(`capsule: serve: ${(err as Error)?.stack ?? String(err)}\n`);
    if (!res.headersSent) res.status(status).json({ error: escapeText(message) });
    else res.end();
  });
  return app;
}

export async function startServer(options: ServerOptions): Promise<{ address: string; close(): Promise<void> }> {
  const fleet = new Fleet({ connection: options.connection, ...(options.queue ? { queue: options.queue } : {}), ceiling: options.ceiling ?? DEFAULT_CEILING });
  fleet.on('error', () => {});
  const app = buildApp(fleet, options.tokens, options.ceiling ?? DEFAULT_CEILING);
  const server = app.listen(options.port, options.host);
  // A client that sends slowly holds a connection only so long.
  server.requestTimeout = 90_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (err: NodeJS.ErrnoException) => reject(new CapsuleError(ExitCode.UNAVAILABLE, `--http ${options.port}: ${err.code ?? err.message}`)));
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: async () => {
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      await fleet.close();
    },
  };
}

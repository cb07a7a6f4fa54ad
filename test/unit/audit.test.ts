// The audit log: the checked-in JSON Schema matches the record definition,
// records are stamped and versioned, and floods are aggregated with exact counts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Aggregator } from '../../src/audit/aggregate.js';
import { AuditLog } from '../../src/audit/log.js';
import type { AuditEvent, AuditRecord } from '../../src/audit/record.js';
import { auditJsonSchema, auditRecordSchema } from '../../src/audit/schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const denial = (target: string): AuditEvent => ({
  enclave: 'g', op: 'path_open', target, decision: 'deny', reason: 'the path leads outside its mount', errno: 'NOTCAPABLE',
});

describe('audit records', () => {
  it('schema/audit-record.v1.json is the schema of the record definition (regenerate with scripts/audit-schema.mjs)', () => {
    const file = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/audit-record.v1.json'), 'utf8'));
    assert.deepEqual(file, JSON.parse(JSON.stringify(auditJsonSchema())));
  });

  it('are stamped with the version and time and pass the schema', () => {
    const log = new AuditLog();
    const seen: AuditRecord[] = [];
    log.addSink((r) => seen.push(r));
    log.record(denial('/etc/passwd'));
    log.record({ enclave: 'g', op: 'exit', target: 'm.wasm', decision: 'allow', reason: 'exited with 0', detail: { exitCode: 0 } });
    log.close();
    assert.equal(seen.length, 2);
    for (const r of seen) {
      assert.equal(r.v, 1);
      assert.ok(!Number.isNaN(Date.parse(r.time)));
      auditRecordSchema.parse(r);
    }
    assert.deepEqual(log.counts, { allow: 1, deny: 1, limit: 0 });
    assert.equal(log.firstDenial?.target, '/etc/passwd');
  });

  it('a record with an unknown field or decision fails the schema', () => {
    const good = { v: 1, time: new Date().toISOString(), ...denial('x') };
    assert.throws(() => auditRecordSchema.parse({ ...good, extra: 1 }));
    assert.throws(() => auditRecordSchema.parse({ ...good, decision: 'maybe' }));
  });

  it('are written as JSON lines to a file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-audit-'));
    try {
      const file = path.join(dir, 'audit.jsonl');
      const log = new AuditLog();
      log.addFile(file);
      log.record(denial('a'));
      log.record(denial('b'));
      log.close();
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => auditRecordSchema.parse(JSON.parse(l)));
      assert.deepEqual(lines.map((l) => l.target), ['a', 'b']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('audit flood control', () => {
  it('lets a burst through, then counts: the counts add up to every event', () => {
    const out: AuditEvent[] = [];
    let now = 0;
    const agg = new Aggregator((e) => out.push(e), () => now);
    for (let i = 0; i < 1000; i++) agg.add(denial(`f${i}`));
    agg.flush();
    const total = out.reduce((n, e) => n + (e.count ?? 1), 0);
    assert.equal(total, 1000);
    assert.ok(out.length <= 11, `${out.length} records for 1000 identical denials`);
    assert.equal(out.filter((e) => e.count !== undefined).length, 1);
  });

  it('reports each window separately', () => {
    const out: AuditEvent[] = [];
    let now = 0;
    const agg = new Aggregator((e) => out.push(e), () => now);
    for (let i = 0; i < 50; i++) agg.add(denial('x'));
    now = 1500;
    for (let i = 0; i < 50; i++) agg.add(denial('x'));
    agg.flush();
    assert.equal(out.reduce((n, e) => n + (e.count ?? 1), 0), 100);
    assert.equal(out.filter((e) => e.count !== undefined).length, 2);
  });

  it('keeps memory bounded however many kinds a guest invents', () => {
    const out: AuditEvent[] = [];
    const agg = new Aggregator((e) => out.push(e), () => 0);
    for (let i = 0; i < 5000; i++) agg.add({ ...denial('x'), reason: `reason ${i}` });
    agg.flush();
    assert.equal(out.reduce((n, e) => n + (e.count ?? 1), 0), 5000);
    assert.ok(out.length < 5000);
  });

  it('never holds back start and exit records', () => {
    const out: AuditEvent[] = [];
    const agg = new Aggregator((e) => out.push(e), () => 0);
    for (let i = 0; i < 100; i++) agg.add({ enclave: `g${i}`, op: 'start', target: 'm', decision: 'allow', reason: 'r' });
    assert.equal(out.length, 100);
  });
});

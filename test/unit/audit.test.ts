// The audit log: the checked-in JSON Schema matches the record definition,
// records are stamped and versioned, and floods are aggregated with exact counts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Aggregator, MAX_KINDS } from '../../src/audit/aggregate.js';
import { MAX_TEXT_BYTES } from '../../src/audit/escape.js';
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

describe('audit record bounds', () => {
  /** A denial as the filesystem makes it: the reason names a mount built from the guest's path. */
  const longDenial = (i: number, len: number): AuditEvent => ({
    enclave: 'g', op: 'path_open', target: `/data/../${i}/${'a'.repeat(len)}`, decision: 'deny', errno: 'NOTCAPABLE',
    reason: `the path leads outside its mount (a mount such as --dir HOST::/${i}/${'b'.repeat(len)} would grant it)`,
  });

  it('thousands of distinct long paths and reasons: every line small, the kinds capped, every event counted', () => {
    const log = new AuditLog();
    const seen: AuditRecord[] = [];
    let bytes = 0;
    log.addSink((r) => { seen.push(r); bytes += JSON.stringify(r).length + 1; });
    const N = 5000;
    const started = performance.now();
    for (let i = 0; i < N; i++) log.record(longDenial(i, 64 * 1024));
    log.close();
    const windows = Math.ceil((performance.now() - started) / 1000) + 1;
    const denies = seen.filter((r) => r.decision === 'deny');
    assert.equal(denies.reduce((n, r) => n + (r.count ?? 1), 0), N);
    assert.equal(log.counts.deny, N);
    for (const r of denies) {
      assert.ok(Buffer.byteLength(r.target) <= MAX_TEXT_BYTES + 16, `target of ${Buffer.byteLength(r.target)} bytes`);
      assert.ok(Buffer.byteLength(r.reason) <= MAX_TEXT_BYTES + 24, `reason of ${Buffer.byteLength(r.reason)} bytes`);
      assert.match(r.target, /…\[\+\d+ bytes\]/);
    }
    // One record per kind up to the cap, then per one-second window the merged kind's burst and its count.
    assert.ok(denies.length <= MAX_KINDS + 11 * windows, `${denies.length} records in ${windows} windows`);
    assert.ok(bytes < 1024 * 1024, `${bytes} bytes of log for ${N} denials of 64 KiB paths`);
    const merged = denies.find((r) => r.count !== undefined);
    assert.ok(merged && merged.reason.endsWith('(and other reasons)'), JSON.stringify(merged));
  });

  it('merged kinds are per op and decision: a flood of one op does not hide another', () => {
    const out: AuditEvent[] = [];
    const agg = new Aggregator((e) => out.push(e), () => 0);
    for (let i = 0; i < 2000; i++) agg.add({ ...denial('x'), reason: `reason ${i}` });
    for (let i = 0; i < 30; i++) agg.add({ ...denial('y'), op: 'resolve', reason: `name ${i}` });
    agg.flush();
    assert.equal(out.filter((e) => e.op === 'path_open').reduce((n, e) => n + (e.count ?? 1), 0), 2000);
    assert.equal(out.filter((e) => e.op === 'resolve').reduce((n, e) => n + (e.count ?? 1), 0), 30);
  });

  it('control characters never reach a record raw; detail strings are bounded too', () => {
    const log = new AuditLog();
    const seen: AuditRecord[] = [];
    log.addSink((r) => seen.push(r));
    log.record({ ...denial('/x\n{"forged":1}\x1b[2J\u202e'), reason: 'r\r\x9b' });
    log.record({ enclave: 'g', op: 'exit', target: 'm', decision: 'allow', reason: 'exited',
      detail: { message: `trap\n${'z'.repeat(100_000)}`, list: Array.from({ length: 1000 }, (_, i) => `e${i}`), deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } } });
    log.close();
    const text = JSON.stringify(seen);
    assert.doesNotMatch(seen[0]!.target + seen[0]!.reason, /[\u0000-\u001f\u007f-\u009f\u202e]/);
    assert.equal(seen[0]!.target, '/x\\n{"forged":1}\\x1b[2J\\u202e');
    assert.ok(text.length < 16 * 1024, `${text.length} bytes`);
    const detail = seen[1]!.detail as { message: string; list: string[] };
    assert.ok(Buffer.byteLength(detail.message) <= MAX_TEXT_BYTES);
    assert.ok(detail.list.length <= 65);
  });
});

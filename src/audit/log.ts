// The audit log of a layer: stamps events (version, time), passes them
// through flood control and hands each record to every sink (a JSON-lines
// file, an API callback). Every event is bounded first (bound.ts): guest
// strings escaped and cut. Records are written synchronously, so none is
// lost if the process dies right after.

import fs from 'node:fs';
import { Aggregator } from './aggregate.js';
import { boundEvent } from './bound.js';
import { AUDIT_VERSION, type AuditEvent, type AuditRecord } from './record.js';

export type AuditSink = (r: AuditRecord) => void;

export class AuditLog {
  private readonly sinks: AuditSink[] = [];
  private readonly aggregator = new Aggregator((e) => this.write(e));
  private closed = false;
  /** Records written so far, by decision (for the summary a CLI prints). */
  readonly counts = { allow: 0, deny: 0, limit: 0 };
  /** The first denial, to show the user without reading the log. */
  firstDenial: AuditRecord | undefined;

  addSink(s: AuditSink): void {
    this.sinks.push(s);
  }

  removeSink(s: AuditSink): void {
    const i = this.sinks.indexOf(s);
    if (i !== -1) this.sinks.splice(i, 1);
  }

  /** Appends records as JSON lines to `file` (created, or appended to). */
  addFile(file: string): void {
    const fd = fs.openSync(file, 'a', 0o600);
    this.sinks.push((r) => { fs.writeSync(fd, JSON.stringify(r) + '\n'); });
    this.closers.push(() => fs.closeSync(fd));
  }

  private readonly closers: (() => void)[] = [];

  record(e: AuditEvent): void {
    if (this.closed) return;
    this.aggregator.add(boundEvent(e));
  }

  private write(e: AuditEvent): void {
    const r: AuditRecord = { v: AUDIT_VERSION, time: new Date().toISOString(), ...e };
    this.counts[r.decision] += r.count ?? 1;
    if (r.decision === 'deny' && !this.firstDenial) this.firstDenial = r;
    for (const s of this.sinks) {
      try {
        s(r);
      } catch {
        // A failing sink must not take the layer down; the others still get the record.
      }
    }
  }

  /** Writes out what flood control is still counting. */
  flush(): void {
    if (!this.closed) this.aggregator.flush();
  }

  close(): void {
    if (this.closed) return;
    this.aggregator.flush();
    this.closed = true;
    for (const c of this.closers) c();
  }
}

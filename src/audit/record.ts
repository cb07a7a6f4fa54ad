// Audit records: one JSON line per denial, per network grant used, per limit
// reached, per enclave start and exit. The format is versioned; its schema
// is src/audit/schema.ts, checked in as schema/audit-record.v1.json (tests
// keep the three equal).

export const AUDIT_VERSION = 1;

export interface AuditRecord {
  /** Format version. */
  v: typeof AUDIT_VERSION;
  /** ISO 8601 time the record was made. */
  time: string;
  /** The guest (application enclave) concerned. */
  enclave: string;
  /** A WASI/WASIX call (path_open, sock_connect, ...), or start, exit, connect, listen, accept, publish, resolve, a limit. */
  op: string;
  /** What it acted on: a path, an address, a module, a limit name. */
  target: string;
  /** allow: a grant was used; deny: refused by policy; limit: a limit was reached. */
  decision: 'allow' | 'deny' | 'limit';
  /** Why, naming the grant that allowed it or that would have. */
  reason: string;
  /** The errno the guest got, for refused calls. */
  errno?: string;
  /** For aggregated records: how many identical events this one stands for. */
  count?: number;
  /** Extra facts (exit code, usage, ...). */
  detail?: Record<string, unknown>;
}

export type AuditEvent = Omit<AuditRecord, 'v' | 'time'>;

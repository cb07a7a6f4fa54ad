// The schema of an audit record (see record.ts), for validation and for the
// checked-in JSON Schema (scripts/audit-schema.mjs writes it).

import { z } from 'zod';
import { AUDIT_VERSION, type AuditRecord } from './record.js';

export const auditRecordSchema = z.object({
  v: z.literal(AUDIT_VERSION).describe('format version'),
  time: z.string().describe('ISO 8601 time the record was made'),
  enclave: z.string().describe('the guest (application enclave) concerned'),
  op: z.string().describe('the operation: a WASI/WASIX call (path_open, sock_connect, ...), or start, exit, connect, listen, accept, publish, resolve, limit'),
  target: z.string().describe('what it acted on: a path, an address, a module, a limit name'),
  decision: z.enum(['allow', 'deny', 'limit']).describe('allow: a grant was used; deny: refused by policy; limit: a limit was reached'),
  reason: z.string().describe('why, naming the grant that allowed it or that would have'),
  errno: z.string().optional().describe('the errno the guest got, for refused calls'),
  count: z.number().int().min(1).optional().describe('for aggregated records: how many identical events this one stands for'),
  detail: z.record(z.string(), z.unknown()).optional().describe('extra facts (exit code, usage, ...)'),
}).strict() satisfies z.ZodType<AuditRecord>;

/** The JSON Schema of one audit line. */
export function auditJsonSchema(): unknown {
  return {
    $id: 'https://capsule.invalid/schema/audit-record.v1.json',
    title: 'Capsule audit record, version 1',
    ...z.toJSONSchema(auditRecordSchema),
  };
}

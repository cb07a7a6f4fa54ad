// Writes schema/audit-record.v1.json from the audit record definition
// (src/audit/record.ts). Run after `npm run build`; a test keeps the two equal.
import fs from 'node:fs';
import { auditJsonSchema } from '../dist/src/audit/schema.js';

fs.mkdirSync('schema', { recursive: true });
fs.writeFileSync('schema/audit-record.v1.json', JSON.stringify(auditJsonSchema(), null, 2) + '\n');

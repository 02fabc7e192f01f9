import { z } from 'zod';
import { errorReportSchema, successReportSchema, connectionReportSchema, resolveRequestSchema } from '../contracts/error-report.js';
const req = errorReportSchema.partial({ reportId: true });
for (const s of [req, successReportSchema, connectionReportSchema, resolveRequestSchema]) {
  const j = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  console.log(JSON.stringify(j).slice(0, 300));
}
console.log(req.safeParse({ environment: 'prod', flow: 'x', errors: [{ traceKey: 'a', message: 'b' }] }).success);

import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTestWorld } from './helpers/world.js';
import { createErrorStore } from '../stores/error-store.js';

// PostgreSQL plans a table without statistics as nearly empty; nothing has analyzed `errors` in a
// new database. Storing must not depend on that: each statement here is one pass, whatever the plan.
describe('the first reports into a freshly created database', async () => {
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const store = createErrorStore(db);

  it('S3: two reports of 10,000 errors of one flow (the second superseding the first) are each stored in under 2 s', async () => {
    const report = (run: string) => ({
      environment: 'prod',
      flow: 'orders',
      reportId: run,
      errors: Array.from({ length: 10_000 }, (_, i) => ({ traceKey: `SO-${i}`, message: `Record ${i} rejected`, code: 'VALIDATION' })),
    });
    for (const run of ['run-1', 'run-2']) {
      const started = performance.now();
      const stored = await store.storeReport(report(run), new Date());
      const seconds = (performance.now() - started) / 1000;
      expect(stored).toMatchObject({ stored: 10_000, superseded: run === 'run-1' ? 0 : 10_000 });
      expect(seconds, `${run} took ${seconds.toFixed(1)} s`).toBeLessThan(2);
    }
    expect(await db('errors').where({ status: 'open' }).count({ n: '*' })).toEqual([{ n: 10_000 }]);
  });
});

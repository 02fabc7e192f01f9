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

  /** Rows of `errors` PostgreSQL has read so far (by scans and through indexes), and rows inserted, as its statistics count them. */
  const work = async () => {
    const { rows } = await db.raw(
      `select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as read, n_tup_ins as inserted from pg_stat_user_tables where relname = 'errors'`,
    );
    return { read: Number(rows[0].read), inserted: Number(rows[0].inserted) };
  };

  // Work, not time (timings are the bench's: its first round is this report into a fresh database):
  // a plan that loops over the young table for each row reads it about 10,000 times over, 10^8 rows.
  it('S3: two reports of 10,000 errors of one flow (the second superseding the first) each read the table a bounded number of times over', async () => {
    const report = (run: string) => ({
      environment: 'prod',
      flow: 'orders',
      reportId: run,
      errors: Array.from({ length: 10_000 }, (_, i) => ({ traceKey: `SO-${i}`, message: `Record ${i} rejected`, code: 'VALIDATION' })),
    });
    const before = await work();
    for (const run of ['run-1', 'run-2']) {
      const stored = await store.storeReport(report(run), new Date());
      expect(stored).toMatchObject({ stored: 10_000, superseded: run === 'run-1' ? 0 : 10_000 });
    }
    expect(await db('errors').where({ status: 'open' }).count({ n: '*' })).toEqual([{ n: 10_000 }]);
    // Statistics reach the view when the backends that wrote them flush (within a second or so).
    await expect.poll(async () => (await work()).inserted - before.inserted, { timeout: 15_000 }).toBe(20_000);
    const read = (await work()).read - before.read;
    expect(read, `${read} rows of errors read`).toBeLessThan(20 * 20_000);
  });
});

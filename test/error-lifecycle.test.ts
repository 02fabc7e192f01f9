import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTestDatabase, insertsWaitingForLock, lockErrorsTable } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startHerald } from './helpers/herald.js';
import { createTestWorld } from './helpers/world.js';
import { HeraldInputError } from '../client/index.js';
import type { ReportResult, RetryWindowOutcome, RetryTargetInput } from '../client/index.js';
import { HeraldEnvironment, HeraldFlow, HeraldOutcome } from '../workflows/run-labels.js';
import { createErrorActivities } from '../activities/error-activities.js';
import { createErrorStore } from '../stores/error-store.js';
import { supersedeBeforeAnswerUpTo } from '../workflows/error-report.js';

const minutes = (n: number) => n * 60_000;

describe('the error lifecycle', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const herald = await startHerald({ env, db });
  const { client } = herald;
  /** What Herald holds, read from its database (flows report through the client; reading is the API's or the store's). */
  const errors = createErrorStore(db);
  /** Transactions rolled back in this test's database so far. */
  const rollbacks = async () => Number((await db.raw('select xact_rollback from pg_stat_database where datname = current_database()')).rows[0].xact_rollback);
  const statusOf = async (traceKey: string, flow = 'orders') =>
    (await db('errors').where({ trace_key: traceKey, flow_id: flow }).orderBy('id').select('status', 'resolution_reason'));

  it('S1: stores every error of a report before the call returns, and a repeated report once', async () => {
    const report = {
      environment: 'prod',
      flow: 'customers',
      reportId: 'run-s1',
      errors: [
        { traceKey: 'c-1', message: 'Customer email is invalid', code: 'VALIDATION', step: 'Import customers' },
        { traceKey: 'c-2', message: 'Customer already exists', code: 'DUPLICATE' },
        { errorKey: 'err-s1-fixed', traceKey: 'c-3', message: 'Missing country', occurredAt: '2026-11-27T08:00:00Z' },
      ],
    };
    const first = await client.reportErrors(report);
    expect(first).toMatchObject({ stored: 3, duplicates: 0, open: 3, retrying: 0 });
    expect(await db('errors').where({ report_id: 'run-s1' }).count({ n: '*' })).toEqual([{ n: 3 }]);

    const again = await client.reportErrors(report);
    expect(again).toMatchObject({ stored: 3 }); // the same workflow run answers: it is one report
    const sameIdOtherBatch = await client.reportErrors({ ...report, reportId: 'run-s1-retry', errors: [report.errors[2]!] });
    expect(sameIdOtherBatch).toMatchObject({ stored: 0, duplicates: 1 });
    expect(await db('errors').where({ flow_id: 'customers', error_key: 'err-s1-fixed' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    const listed = await errors.listErrors({ environment: 'prod', flow: 'customers', status: 'open' });
    expect(listed.map((e) => e.traceKey).sort()).toEqual(['c-1', 'c-2', 'c-3']);
    expect(listed.find((e) => e.traceKey === 'c-3')?.occurredAt.toISOString()).toBe('2026-11-27T08:00:00.000Z');
  });

  it('S1: stores a report of 1,000 errors in one transaction', async () => {
    const errors = Array.from({ length: 1_000 }, (_, i) => ({ traceKey: `bulk-${i}`, message: `Row ${i} rejected` }));
    const result = await client.reportErrors({ environment: 'prod', flow: 'customers', reportId: 'run-bulk', errors });
    expect(result).toMatchObject({ stored: 1_000, duplicates: 0 });
    // Rows written by one transaction share its id (xmin).
    const transactions = await db('errors').where({ report_id: 'run-bulk' }).countDistinct({ n: db.raw('xmin::text') });
    expect(transactions).toEqual([{ n: 1 }]);
  });

  it('S2: refuses bad input before anything is stored, naming each field', async () => {
    const before = await db('errors').count({ n: '*' });
    const refused = await client
      .reportErrors({
        environment: 'prod',
        flow: 'orders',
        reportId: 'bad id with spaces',
        errors: [
          { traceKey: 'ok', message: '' },
          { traceKey: 'x'.repeat(600), message: 'fine' },
          { traceKey: 'ok-2', message: 'fine', occurredAt: 'yesterday' },
        ],
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HeraldInputError);
    expect((refused as HeraldInputError).problems.map((p) => p.field)).toEqual([
      'reportId',
      'errors[0].message',
      'errors[1].traceKey',
      'errors[2].occurredAt',
    ]);
    expect((refused as HeraldInputError).message).toContain('errors[1].traceKey: is 600 characters long; at most 512');
    expect(await db('errors').count({ n: '*' })).toEqual(before);
  });

  it('S2: refuses an unknown environment or flow, stores nothing of it, and carries on', async () => {
    const before = await db('errors').count({ n: '*' });
    const unknownFlow = await client
      .reportErrors({ environment: 'prod', flow: 'payroll', errors: [{ traceKey: 'p-1', message: 'x' }] })
      .catch((e: unknown) => e);
    expect(unknownFlow).toBeInstanceOf(HeraldInputError);
    expect((unknownFlow as HeraldInputError).problems).toEqual([
      { field: 'flow', message: 'unknown flow "payroll" in environment "prod"' },
    ]);
    const otherEnvironment = await client
      .reportErrors({ environment: 'staging', flow: 'orders', errors: [{ traceKey: 'p-1', message: 'x' }] })
      .catch((e: unknown) => e);
    expect((otherEnvironment as HeraldInputError).problems[0]?.field).toBe('flow');
    const unknownEnvironment = await client
      .reportErrors({ environment: 'moon', flow: 'orders', errors: [{ traceKey: 'p-1', message: 'x' }] })
      .catch((e: unknown) => e);
    expect((unknownEnvironment as HeraldInputError).problems).toEqual([{ field: 'environment', message: 'unknown environment "moon"' }]);
    expect(await db('errors').count({ n: '*' })).toEqual(before);

    const fine = await client.reportErrors({ environment: 'prod', flow: 'customers', errors: [{ traceKey: 'after', message: 'ok' }] });
    expect(fine.stored).toBe(1);
  });

  it('S2: a database failure inside the worker is retried by Temporal and loses nothing', async () => {
    const rolledBackBefore = await rollbacks();
    await db.raw('alter table errors rename to errors_away');
    const pending = client.reportErrors({
      environment: 'prod',
      flow: 'customers',
      reportId: 'run-db-down',
      errors: [{ traceKey: 'db-1', message: 'stored after the outage' }],
    });
    // Attempts fail, each rolling its transaction back, and are tried again.
    await expect.poll(async () => (await rollbacks()) - rolledBackBefore, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await db.raw('alter table errors_away rename to errors');
    expect((await pending).stored).toBe(1);
    expect(await statusOf('db-1', 'customers')).toEqual([{ status: 'open', resolution_reason: null }]);
  });

  it('S2, S5: a store that commits after its attempt timed out is answered alike by the retry: nothing lost, the retry window started', async () => {
    // The first attempt's insert waits behind a lock past the store's 1-minute timeout, and a second
    // attempt queues behind it. The second is cancelled (its query, as PostgreSQL can), then the lock
    // goes: the first commits though its answer is no longer heard, and the third attempt, seconds
    // later, finds the rows already there.
    const lock = await lockErrorsTable(db);
    const waiting = lock.waitingInserts;
    const pending = client.reportErrors({
      environment: 'prod',
      flow: 'orders',
      reportId: 'run-slow-commit',
      errors: [
        { traceKey: 'order-slow-1', message: 'Gateway timeout', code: '504' },
        { traceKey: 'order-slow-2', message: 'Price missing', code: 'VALIDATION' },
      ],
    });
    await expect.poll(waiting, { timeout: 20_000 }).toBe(1);
    await expect.poll(waiting, { timeout: 90_000, interval: 200 }).toBe(2);
    await db.raw(`select pg_cancel_backend(pid) from (select pid ${insertsWaitingForLock} order by query_start desc limit 1) as second`);
    await expect.poll(waiting, { timeout: 10_000, interval: 20 }).toBe(1);
    await lock.release();

    const receipt = await pending;
    expect(receipt).toMatchObject({ stored: 2, duplicates: 0, open: 1, retrying: 1, retryWorkflowId: 'retry/prod/orders/run-slow-commit' });
    expect(await statusOf('order-slow-1')).toEqual([{ status: 'retrying', resolution_reason: null }]);
    await env.sleep(minutes(6));
    expect(await statusOf('order-slow-1')).toEqual([{ status: 'open', resolution_reason: null }]);
    expect(await statusOf('order-slow-2')).toEqual([{ status: 'open', resolution_reason: null }]);
  }, 150_000);

  it('S2: storing a report again (a retried attempt) answers as the first time, stores nothing twice, and tells the digest again', async () => {
    const told: string[] = [];
    const tellDigest = async (environment: string) => void told.push(environment);
    const activities = createErrorActivities({ db, retryWindowMs: minutes(5), tellDigest, now: () => new Date() });
    // The digest took its news: the next news raises the flag.
    await db('environments').where({ id: 'prod' }).update({ digest_news_since: null });
    const report = {
      environment: 'prod',
      flow: 'orders',
      reportId: 'run-stored-twice',
      errors: [
        { traceKey: 'order-twice-1', message: 'Gateway timeout', code: '504' },
        { traceKey: 'order-twice-2', message: 'Price missing' },
        // The key under its old name (`id`), as reports of flows written for 0.1 give it.
        { id: 'err-twice-fixed', traceKey: 'order-twice-3', message: 'An id another report stored' },
      ],
    };
    // Each call as one activity attempt of its own.
    const store = (given: typeof report) => new MockActivityEnvironment().run(activities.storeErrorReport, given) as ReturnType<typeof activities.storeErrorReport>;
    await store({ ...report, reportId: 'run-stored-before', errors: [report.errors[2]!] });
    expect(told).toEqual(['prod']);
    // The flag is up: news stored after it tells nobody again...
    const first = await store(report);
    expect(told).toEqual(['prod']);
    // ...but an attempt that finds its errors stored by one before it tells (that one may have died before telling).
    const again = await store(report);
    expect(told).toEqual(['prod', 'prod']);
    expect(first).toMatchObject({ stored: 2, duplicates: 1, open: 1, retrying: [expect.objectContaining({ traceKey: 'order-twice-1' })] });
    expect(again).toEqual({ ...first, superseded: again.superseded });
    expect(await db('errors').where({ report_id: 'run-stored-twice' }).count({ n: '*' })).toEqual([{ n: 2 }]);
  });

  it('S3: with auto-resolve on, a new error of the same trace key supersedes the open ones in one batch', async () => {
    await client.reportErrors({
      environment: 'prod',
      flow: 'orders',
      errors: [
        { traceKey: 'order-7', message: 'Price mismatch' },
        { traceKey: 'order-7', message: 'Price mismatch again' },
      ],
    });
    await client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'order-7', message: 'Still wrong' }] });
    expect(await statusOf('order-7')).toEqual([
      { status: 'auto_resolved', resolution_reason: 'superseded' },
      { status: 'auto_resolved', resolution_reason: 'superseded' },
      { status: 'open', resolution_reason: null },
    ]);
  });

  it('S3: up to 1,000 earlier errors are superseded before the answer; more, by the run right after it', async () => {
    const report = (reportId: string, count: number) => ({
      environment: 'prod',
      flow: 'orders',
      reportId,
      errors: Array.from({ length: count }, (_, i) => ({ traceKey: `bulk-${reportId.slice(0, 5)}-${i}`, message: `Row ${i} rejected` })),
    });
    const openOf = async (reportId: string) =>
      Number((await db('errors').where({ report_id: reportId, status: 'open' }).count({ n: '*' }))[0]!.n);
    const activitiesOf = async (reportId: string) =>
      ((await herald.temporal.workflow.getHandle(`errors/prod/orders/${reportId}`).fetchHistory()).events ?? [])
        .map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter(Boolean);

    // At the limit: superseded in the storing transaction, so already when the call returns.
    await client.reportErrors(report('small-1', supersedeBeforeAnswerUpTo));
    expect(await client.reportErrors(report('small-2', supersedeBeforeAnswerUpTo))).toMatchObject({ stored: 1_000, superseded: 1_000 });
    expect(await openOf('small-1')).toBe(0);
    expect(await activitiesOf('small-2')).toEqual([]);

    // One more: the answer does not wait for them. One earlier row is held by another transaction,
    // which would hold the answer if it waited for the superseding.
    await client.reportErrors(report('large-1', supersedeBeforeAnswerUpTo + 1));
    const holder = await db.transaction();
    await holder('errors').where({ report_id: 'large-1' }).orderBy('id').limit(1).forUpdate().select('id');
    try {
      const answer = await client.reportErrors(report('large-2', supersedeBeforeAnswerUpTo + 1));
      expect(answer).toMatchObject({ stored: 1_001, superseded: 1_001 });
      expect(await openOf('large-1')).toBe(1_001);
    } finally {
      await holder.rollback();
    }
    const result: ReportResult = await herald.temporal.workflow.getHandle('errors/prod/orders/large-2').result();
    expect(result).toMatchObject({ stored: 1_001, superseded: 1_001 });
    expect(await openOf('large-1')).toBe(0);
    const resolved = await db('errors').where({ report_id: 'large-1' }).distinct('status', 'resolution_reason', 'resolved_at');
    const [{ reported_at: reportedAt }] = await db('errors').where({ report_id: 'large-2' }).limit(1).select('reported_at');
    expect(resolved).toEqual([{ status: 'auto_resolved', resolution_reason: 'superseded', resolved_at: reportedAt }]);
    expect(await activitiesOf('large-2')).toEqual(['supersedeEarlierErrors']);
    expect(await openOf('large-2')).toBe(1_001);
  });

  it('S3: with auto-resolve off, errors of the same trace key all stay open', async () => {
    await client.reportErrors({ environment: 'prod', flow: 'customers', errors: [{ traceKey: 'cust-9', message: 'a' }] });
    await client.reportErrors({ environment: 'prod', flow: 'customers', errors: [{ traceKey: 'cust-9', message: 'b' }] });
    expect(await statusOf('cust-9', 'customers')).toEqual([
      { status: 'open', resolution_reason: null },
      { status: 'open', resolution_reason: null },
    ]);
  });

  it('S4: records that succeeded auto-resolve their open errors, where the flow allows it', async () => {
    await client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'order-8', message: 'a' }] });
    await client.reportErrors({ environment: 'prod', flow: 'customers', errors: [{ traceKey: 'cust-8', message: 'a' }] });
    const on = await client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['order-8', 'never-failed'] });
    const off = await client.reportSuccesses({ environment: 'prod', flow: 'customers', traceKeys: ['cust-8'] });
    expect(on).toEqual({ resolved: 1, recovered: 0, autoResolveOff: false });
    expect(off).toEqual({ resolved: 0, recovered: 0, autoResolveOff: true });
    expect(await statusOf('order-8')).toEqual([{ status: 'auto_resolved', resolution_reason: 'record succeeded' }]);
    expect(await statusOf('cust-8', 'customers')).toEqual([{ status: 'open', resolution_reason: null }]);
  });

  it('S5: an intermittent error is retrying for the window, then open when the window closes', async () => {
    const result = await client.reportErrors({
      environment: 'prod',
      flow: 'orders',
      reportId: 'run-timeout',
      errors: [{ traceKey: 'order-20', message: 'Gateway timeout', code: '504' }],
    });
    expect(result).toMatchObject({ retrying: 1, open: 0, retryWorkflowId: 'retry/prod/orders/run-timeout' });
    expect(await statusOf('order-20')).toEqual([{ status: 'retrying', resolution_reason: null }]);

    await env.sleep(minutes(4));
    expect(await statusOf('order-20')).toEqual([{ status: 'retrying', resolution_reason: null }]);
    await env.sleep(minutes(1.5));
    expect(await statusOf('order-20')).toEqual([{ status: 'open', resolution_reason: null }]);
    const outcome: RetryWindowOutcome = await herald.temporal.workflow.getHandle('retry/prod/orders/run-timeout').result();
    expect(outcome).toEqual({ outcome: 'exhausted', recovered: 0, exhausted: 1 });
  });

  it('labels the runs for operators: environment, flow and outcome to filter by, and a one-line memo', async () => {
    // The report of the previous test (labelled "stored" when it started, and never relabelled),
    // and its retry window, which closed with the error open.
    const labels = async (workflowId: string) => {
      const run = await herald.temporal.workflow.getHandle(workflowId).describe();
      return {
        environment: run.typedSearchAttributes.get(HeraldEnvironment),
        flow: run.typedSearchAttributes.get(HeraldFlow),
        outcome: run.typedSearchAttributes.get(HeraldOutcome),
        summary: (await run.memo)?.summary,
      };
    };
    expect(await labels('errors/prod/orders/run-timeout')).toEqual({
      environment: 'prod',
      flow: 'orders',
      outcome: 'stored',
      summary: 'report of 1 error',
    });
    expect(await labels('retry/prod/orders/run-timeout')).toEqual({
      environment: 'prod',
      flow: 'orders',
      outcome: 'exhausted',
      summary: 'retry window of 1 error, 300 s',
    });
  });

  it('S5: a success report at minute 3 recovers the error: auto-resolved, "retry succeeded"', async () => {
    await client.reportErrors({
      environment: 'prod',
      flow: 'orders',
      reportId: 'run-flaky',
      errors: [
        { traceKey: 'order-30', message: 'Connection reset', code: 'ECONNRESET' },
        { traceKey: 'order-31', message: 'Lock timeout', intermittent: true },
      ],
    });
    await env.sleep(minutes(3));
    const success = await client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['order-30', 'order-31'] });
    expect(success).toMatchObject({ recovered: 2, resolved: 0 });
    const outcome: RetryWindowOutcome = await herald.temporal.workflow.getHandle('retry/prod/orders/run-flaky').result();
    expect(outcome).toEqual({ outcome: 'recovered', recovered: 2, exhausted: 0 });
    expect(await statusOf('order-30')).toEqual([{ status: 'auto_resolved', resolution_reason: 'retry succeeded' }]);
    await env.sleep(minutes(5));
    expect(await statusOf('order-31')).toEqual([{ status: 'auto_resolved', resolution_reason: 'retry succeeded' }]);
  });

  it('S5: a retry target on the flow\'s own task queue is really called, and its success recovers the error', async () => {
    const calls: RetryTargetInput[] = [];
    const flowWorker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'orders-flow',
      activities: {
        async retryOrder(input: RetryTargetInput) {
          calls.push(input);
          if (calls.length < 3) throw new Error('ERP still unavailable');
          return 'imported';
        },
      },
    });
    await flowWorker.runUntil(async () => {
      await client.reportErrors({
        environment: 'prod',
        flow: 'orders',
        reportId: 'run-target',
        retryActivity: 'retryOrder',
        errors: [{ errorKey: 'e-target', traceKey: 'order-40', message: 'Service unavailable', code: '503' }],
      });
      // The report's run returns its retry window's outcome (the window may not have started yet when the report is stored).
      const { retry: outcome }: ReportResult = await env.client.workflow.getHandle('errors/prod/orders/run-target').result();
      expect(outcome).toEqual({ outcome: 'recovered', recovered: 1, exhausted: 0 });
    });
    expect(calls).toHaveLength(3);
    // The key under its name and, for retry activities written for 0.1, under its old one.
    expect(calls[0]).toEqual({ environment: 'prod', flow: 'orders', errorKey: 'e-target', errorId: 'e-target', traceKey: 'order-40' });
    expect(await statusOf('order-40')).toEqual([{ status: 'auto_resolved', resolution_reason: 'retry succeeded' }]);
  });

  it('S5: with auto-resolve off, an intermittent error is open at once', async () => {
    const result = await client.reportErrors({
      environment: 'prod',
      flow: 'customers',
      errors: [{ traceKey: 'cust-50', message: 'Too many requests', code: '429' }],
    });
    expect(result).toMatchObject({ open: 1, retrying: 0 });
    expect(result.retryWorkflowId).toBeUndefined();
  });

  it('S6: a user resolves errors, and they leave the open count', async () => {
    await client.reportErrors({
      environment: 'prod',
      flow: 'invoices',
      errors: [
        { traceKey: 'inv-1', message: 'Tax code missing' },
        { traceKey: 'inv-2', message: 'Tax code missing' },
      ],
    });
    const open = await errors.listErrors({ environment: 'prod', flow: 'invoices', status: 'open' });
    expect(open).toHaveLength(2);
    const resolved = await client.resolveErrors({ environment: 'prod', errorIds: [open[0]!.id], user: 'Ops@acme.test' });
    expect(resolved).toEqual([open[0]!.id]);
    expect(await errors.listErrors({ environment: 'prod', flow: 'invoices', status: 'open' })).toHaveLength(1);
    expect(await errors.getError(open[0]!.id)).toMatchObject({ status: 'resolved', resolvedBy: 'ops@acme.test' });

    const stranger = await client
      .resolveErrors({ environment: 'prod', errorIds: [open[1]!.id], user: 'someone@else.test' })
      .catch((e: unknown) => e);
    expect((stranger as HeraldInputError).problems).toEqual([
      { field: 'user', message: '"someone@else.test" is not a user of this environment\'s account' },
    ]);
  });

  it('S23: a monitor user cannot resolve errors: refused by name, and the error stays open', async () => {
    const [error] = await errors.listErrors({ environment: 'prod', flow: 'invoices', status: 'open' });
    const refused = await client.resolveErrors({ environment: 'prod', errorIds: [error!.id], user: 'watcher@acme.test' }).catch((e: unknown) => e);
    expect((refused as HeraldInputError).problems).toEqual([
      { field: 'user', message: '"watcher@acme.test" is a monitor user: monitors read, they do not resolve errors' },
    ]);
    expect(await errors.getError(error!.id)).toMatchObject({ status: 'open', resolvedBy: null });
  });
});

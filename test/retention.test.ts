/**
 * Retention (S39): what Herald keeps only for a while is deleted by the retention workflow, in
 * bounded rounds, once older than HERALD_RETENTION (30 days here, the default); what must stay
 * stays. Rows are made old by moving their timestamps back, as 31 days would.
 */
import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { runCycleNow, startDigest, rowsOf } from './helpers/digests.js';
import { retention, retentionWorkflowId } from '../workflows/retention.js';

const days = (n: number) => `${n} days`;

describe('S39: retention', async () => {
  // Two rows of each kind per round: the runs below take several rounds.
  const { db, mail, herald } = await startFixture({ herald: { purgeBatchSize: 2 } });
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: 15 * 60_000 });
  const runRetention = () => herald.temporal.workflow.execute(retention, { taskQueue: herald.taskQueue, workflowId: retentionWorkflowId, args: [] });
  const errorId = async (traceKey: string) => Number((await db('errors').where({ trace_key: traceKey }).first('id'))!.id);
  /** Moves a row's times back by `age`, as if it were that old. */
  const age = async (table: string, columns: string[], ids: number[], by: string) => {
    for (const column of columns) await db(table).whereIn('id', ids).update({ [column]: db.raw(`${column} - ?::interval`, [by]) });
  };

  it('S39: deletes old resolved errors, finished cycles and email records; keeps open errors, recent rows, cycles still named, each digest\'s last cycle and pending emails', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'old-run', errors: ['R-1', 'R-2', 'R-3', 'O-1', 'N-1'].map((traceKey) => ({ traceKey, message: `failed ${traceKey}` })) });
    await runCycleNow(herald.temporal, 'prod'); // announces all five: cycle A
    // R-1..3 resolved long ago and announced as resolved (cycle B); N-1 resolved but its resolution still unannounced.
    await herald.client.resolveErrors({ environment: 'prod', errorIds: [await errorId('R-1'), await errorId('R-2'), await errorId('R-3')], user: 'ops@acme.test' });
    await runCycleNow(herald.temporal, 'prod'); // cycle B
    await herald.client.resolveErrors({ environment: 'prod', errorIds: [await errorId('N-1')], user: 'ops@acme.test' });
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'new-run', errors: [{ traceKey: 'Y-1', message: 'recent' }] });
    await runCycleNow(herald.temporal, 'prod'); // cycle C: Y-1 new, N-1 resolved
    const cycles = (await db('digest_cycles').where({ environment_id: 'prod' }).orderBy('number').select('id')).map((c) => Number(c.id));
    expect(cycles.length).toBeGreaterThanOrEqual(3);
    const [a, b] = cycles;
    // A pending email (planned, deferred by a 4xx) of cycle B, however old, stays and keeps B.
    const pending = await db('notifications').whereNull('channel_id').where({ cycle_id: b }).orderBy('id').first('id');
    await db('notifications').whereNull('channel_id').where({ id: pending.id }).update({ status: 'pending', retry_at: db.raw(`now() + interval '1 hour'`), sent_at: null });
    // Everything but Y-1, N-1 and cycle C is 40 days old.
    const old = await db('errors').whereIn('trace_key', ['R-1', 'R-2', 'R-3', 'O-1']).pluck('id');
    await age('errors', ['occurred_at', 'reported_at', 'resolved_at'], old.map(Number), days(40));
    await age('digest_cycles', ['fixed_at', 'completed_at'], [a!, b!], days(40));
    const oldDeliveries = (await db('notifications').whereNull('channel_id').whereIn('cycle_id', [a!, b!]).pluck('id')).map(Number);
    await age('notifications', ['created_at', 'sent_at'], oldDeliveries, days(40));
    const nResolvedOld = await errorId('N-1');
    await age('errors', ['resolved_at'], [nResolvedOld], days(40));
    await db('errors').where({ id: nResolvedOld }).update({ resolution_notified_cycle_id: null });

    const summary = await runRetention();
    // Three resolved errors (R-1..3), cycle A's email records (the pending one of B stays).
    expect(summary).toMatchObject({ errors: 3, deliveries: oldDeliveries.length - 1 });
    expect(summary.rounds).toBeGreaterThan(1);
    const left = await db('errors').where({ environment_id: 'prod' }).orderBy('trace_key').pluck('trace_key');
    // O-1 is open, however old; N-1's resolution is still to be told; Y-1 is recent.
    expect(left).toEqual(['N-1', 'O-1', 'Y-1']);
    expect(await db('notifications').whereNull('channel_id').where({ id: pending.id }).first('status')).toEqual({ status: 'pending' });
    // Cycle A announced O-1, still open: it stays, as does B (its pending email) and C (the latest).
    expect((await db('digest_cycles').whereIn('id', cycles).pluck('id')).map(Number).sort()).toEqual([...cycles].sort());

    // Once O-1 is resolved and announced long ago, N-1's resolution told, and B's email sent long ago, A and B go too.
    await db('notifications').whereNull('channel_id').where({ id: pending.id }).update({ status: 'sent', retry_at: null, sent_at: db.raw(`now() - interval '40 days'`) });
    await db('errors').where({ trace_key: 'O-1' }).update({ status: 'resolved', resolved_at: db.raw(`now() - interval '39 days'`), resolution_notified_cycle_id: b });
    await db('errors').where({ id: nResolvedOld }).update({ resolution_notified_cycle_id: cycles.at(-1) });
    const second = await runRetention();
    expect(second).toMatchObject({ errors: 2, deliveries: 1, cycles: 2 });
    expect(await db('errors').where({ environment_id: 'prod' }).pluck('trace_key')).toEqual(['Y-1']);
    expect((await db('digest_cycles').where({ environment_id: 'prod' }).pluck('id')).map(Number)).not.toContain(a);
    // A run with nothing old deletes nothing.
    expect(await runRetention()).toMatchObject({ errors: 0, deliveries: 0, cycles: 0, rounds: 1 });
  });

  it('S39, S47: hours of trends older than the retention age and the overview\'s 31 days go; recent hours and the counts of errors open now stay', async () => {
    const hourAgo = (interval: string) => db.raw(`date_trunc('hour', now() - ?::interval)`, [interval]);
    await db('error_trends')
      .insert([
        { environment_id: 'prod', flow_id: 'invoices', hour: hourAgo('40 days'), reported: 7 },
        { environment_id: 'prod', flow_id: 'invoices', hour: hourAgo('2 days'), reported: 1 },
      ])
      .onConflict(['environment_id', 'flow_id', 'hour'])
      .merge();
    const open = await db('error_open_counts').orderBy(['environment_id', 'flow_id']).select();
    await runRetention();
    expect(await db('error_trends').where('hour', '<', db.raw(`now() - interval '31 days'`)).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await db('error_trends').where({ flow_id: 'invoices' }).where('hour', '>=', db.raw(`now() - interval '3 days'`)).pluck('reported')).toContain(1);
    expect(await db('error_open_counts').orderBy(['environment_id', 'flow_id']).select()).toEqual(open);
  });

  it('S39: a report of a record whose old resolved errors were purged behaves as if they had never existed', async () => {
    await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'gone-run', errors: [{ traceKey: 'P-1', message: 'Price missing' }] });
    await runCycleNow(herald.temporal, 'prod');
    await herald.client.resolveErrors({ environment: 'prod', errorIds: [await errorId('P-1')], user: 'ops@acme.test' });
    await runCycleNow(herald.temporal, 'prod');
    await age('errors', ['occurred_at', 'reported_at', 'resolved_at'], [await errorId('P-1')], days(31));
    await runRetention();
    expect(await db('errors').where({ trace_key: 'P-1' })).toEqual([]);

    mail.clear();
    // The record fails again in a later run of the flow: a new open error, told as new, as for a record never seen.
    const receipt = await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'later-run', errors: [{ traceKey: 'P-1', message: 'Price missing' }] });
    expect(receipt).toMatchObject({ stored: 1, duplicates: 0 });
    expect(await db('errors').where({ trace_key: 'P-1' }).select('status', 'resolution_reason')).toEqual([{ status: 'open', resolution_reason: null }]);
    const summary = await runCycleNow(herald.temporal, 'prod');
    expect(summary).toMatchObject({ newErrors: 1, resolvedErrors: 0 });
    const [email] = await mail.waitFor(1, { to: 'orders-team@acme.test' });
    expect(rowsOf(email!, 'new').join(' ')).toContain('P-1');
    expect(rowsOf(email!, 'resolved')).toEqual([]);
  });
});

/**
 * One action per quiet cycle (#40), on the real stack: a digest runs a fix only when a writer told
 * it of news, and no news is lost on the way — not when reports race the cycles' ends, not when
 * the attempt that stored a report died before it told the digest.
 */
import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { startDigest, summaryOf } from './helpers/digests.js';
import { createErrorStore } from '../stores/error-store.js';
import { createDigestStore } from '../stores/digest-store.js';
import { newsCycleSql, raiseDigestNews } from '../stores/digest-news.js';
import { digestStatusQuery } from '../workflows/environment-digest.js';

const seconds = (n: number) => n * 1_000;

describe('#40: a digest told of its news', async () => {
  const { env, db, mail, herald } = await startFixture();
  // Every second: many cycles end while the reports below are being stored.
  const digest = await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: seconds(1), intervalChosen: true });
  const status = () => digest.query(digestStatusQuery);
  /** The new errors the digest emails told ops of, all told. */
  const toldToOps = () => mail.to('ops@acme.test').reduce((sum, message) => sum + summaryOf(message).new, 0);
  /** Lets the digest's cycles run, a second at a time, until `done` holds (at most a minute of them). */
  async function cyclesUntil(done: () => Promise<boolean>): Promise<void> {
    for (let second = 0; second < 60 && !(await done()); second += 1) await env.sleep(seconds(1));
  }

  it('#40: reports racing the cycles\' ends are each told once, none left behind', async () => {
    const cycleBefore = (await status()).lastCycle;
    // 40 reports, 4 at a time, while the time-skipping server runs the digest's cycles between them.
    const reports = Array.from({ length: 40 }, (_, i) => i);
    const cycling = (async () => {
      while (reports.length > 0) await env.sleep(seconds(1));
    })();
    const workers = Array.from({ length: 4 }, async () => {
      for (let i = reports.shift(); i !== undefined; i = reports.shift()) {
        await herald.client.reportErrors({ environment: 'prod', flow: 'customers', errors: [{ traceKey: `RACE-${i}`, message: `Race ${i}` }] });
      }
    });
    await Promise.all([...workers, cycling]);
    // The cycle that told each error, if one has (an error carries the cycle that will, from when it is stored).
    const raced = () => db('errors as e').leftJoin('digest_cycles as c', 'c.id', 'e.notified_cycle_id').where('e.trace_key', 'like', 'RACE-%').select('c.id as told_in');
    await cyclesUntil(async () => (await raced()).every((error) => error.told_in !== null));

    // Every error was taken by a fix, and emailed to ops once: one email per cycle that had news.
    expect(await raced()).toHaveLength(40);
    expect((await raced()).filter((error) => error.told_in === null)).toEqual([]);
    await expect.poll(toldToOps, { timeout: 20_000 }).toBe(40);
    const withNews = await db('digest_cycles').where({ environment_id: 'prod' }).where('number', '>', cycleBefore).where('new_count', '>', 0).count({ n: '*' });
    expect(mail.to('ops@acme.test')).toHaveLength(Number(withNews[0]!.n));
    // Nothing left for the digest to take.
    expect(await db('environments').where({ id: 'prod' }).first('digest_news_since')).toEqual({ digest_news_since: null });
  });

  it('#40: a fix that starts while news is being stored waits for it, so the news is read or told, never lost', async () => {
    const flow = await db('flows').where({ id: 'staging-orders' }).first('id');
    // Staging, whose digest does not run in this file: the fixes are this test's alone.
    const store = createDigestStore(db);
    const cycle = Number((await db('digest_cycles').where({ environment_id: 'staging' }).max({ n: 'number' }).first())?.n ?? 0);
    // Both orders of the two flags: news already waiting, and none.
    for (const [i, waiting] of [true, false].entries()) {
      await db('environments').where({ id: 'staging' }).update({ digest_news_since: waiting ? db.fn.now() : null });
      const writer = await db.transaction();
      await writer('errors').insert({ environment_id: 'staging', flow_id: flow!.id, error_key: `mid-${i}`, report_id: `mid-${i}`, trace_key: `MID-${i}`, message: 'Stored while a fix began', status: 'open', occurred_at: new Date() });
      const told = await raiseDigestNews(writer, 'staging');
      // The fix begins while the writer has not committed.
      const fixing = store.fixCycle('staging', cycle + 1 + i, new Date());
      await new Promise((resolve) => setTimeout(resolve, 300));
      await writer.commit();
      const fixed = await fixing;
      const error = await db('errors').where({ error_key: `mid-${i}` }).first('notified_cycle_id');
      const news = await db('environments').where({ id: 'staging' }).first('digest_news_since');
      // Read by the fix, or left for the next one and told (the writer raised the flag from down).
      const readByFix = error!.notified_cycle_id === fixed.cycleId;
      expect(readByFix || (told && news!.digest_news_since !== null), JSON.stringify({ waiting, told, readByFix, news })).toBe(true);
      // News that was waiting is read by this very fix: the writer did not raise the flag, so nobody would tell.
      if (waiting) expect(readByFix).toBe(true);
    }
  });

  it('#40: news stored by an attempt that died before it told the digest is told by the attempt after it', async () => {
    mail.clear();
    const report = { environment: 'prod', flow: 'customers', reportId: 'told-late', errors: [{ traceKey: 'LATE-1', message: 'Stored, then the worker died' }] };
    // The first attempt: stored (the flag raised in its transaction), and then it died: nobody told the digest.
    await createErrorStore(db).storeReport(report, new Date(await env.currentTimeMs()));
    const cycle = (await status()).lastCycle;
    await env.sleep(seconds(5));
    expect((await status()).lastCycle).toBe(cycle);
    expect(mail.to('ops@acme.test')).toHaveLength(0);
    // The flow's client sends the report again, as it does when its answer was lost: the attempt finds it stored, and tells.
    expect(await herald.client.reportErrors(report)).toMatchObject({ stored: 1, duplicates: 0 });
    await cyclesUntil(async () => (await status()).lastCycle > cycle);
    await expect.poll(toldToOps, { timeout: 20_000 }).toBe(1);
    expect((await status()).lastCycle).toBe(cycle + 1);
  });

  describe('#40: a cycle\'s fix that does not grow with its errors', () => {
    // Staging, whose digest does not run in this file: the fixes are these tests' alone.
    const errors = createErrorStore(db);
    const store = createDigestStore(db);
    const nextStaging = async () => Number((await db('digest_cycles').where({ environment_id: 'staging' }).max({ n: 'number' }).first())?.n ?? 0) + 1;
    const fixStaging = async () => store.fixCycle('staging', await nextStaging(), new Date());
    const idOf = async (traceKey: string) => Number((await db('errors').where({ environment_id: 'staging', trace_key: traceKey }).first('id'))!.id);
    /** Each staging error's row version: a row written changes it. */
    const versions = () => db('errors').where({ environment_id: 'staging' }).orderBy('id').select('id', db.raw('xmin::text as version'));

    it('#40: errors come stamped with the cycle that tells them, so a fix writes no error row; one resolved before it was told is never told (S10)', async () => {
      await fixStaging();
      const report = (reportId: string, traceKeys: string[]) =>
        errors.storeReport({ environment: 'staging', flow: 'staging-orders', reportId, errors: traceKeys.map((traceKey) => ({ traceKey, message: `Order ${traceKey} rejected` })) }, new Date());
      await report('stamped-1', ['STAMP-A', 'STAMP-B', 'STAMP-C']);
      await errors.resolveByUser('staging', [await idOf('STAMP-C')], 'ops@acme.test', new Date());

      const beforeFirst = await versions();
      const first = await fixStaging();
      expect(await versions()).toEqual(beforeFirst);
      expect(first).toMatchObject({ newCount: 2, resolvedCount: 0 });

      await errors.resolveByUser('staging', [await idOf('STAMP-A')], 'ops@acme.test', new Date());
      await report('stamped-2', ['STAMP-D']);
      const beforeSecond = await versions();
      const second = await fixStaging();
      expect(await versions()).toEqual(beforeSecond);
      expect(second).toMatchObject({ newCount: 1, resolvedCount: 1 });
      expect(await fixStaging()).toMatchObject({ newCount: 0, resolvedCount: 0 });
    });

    it('#40: news stamped with a cycle that a fix took while the news was being stored is told by the next cycle, opened or resolved', async () => {
      await db('errors').insert({ environment_id: 'staging', flow_id: 'staging-orders', error_key: 'race-told', report_id: 'race-told', trace_key: 'RACE-TOLD', message: 'Told, then resolved in a race', status: 'open', occurred_at: new Date() });
      await fixStaging();
      const told = await idOf('RACE-TOLD');

      // A writer stamps an error it opens and one it resolves with the environment's coming cycle…
      const writer = await db.transaction();
      const [opened] = await writer('errors')
        .insert({ environment_id: 'staging', flow_id: 'staging-orders', error_key: 'race-new', report_id: 'race-new', trace_key: 'RACE-NEW', message: 'Stored in a race', status: 'open', occurred_at: new Date(), notified_cycle_id: writer.raw(newsCycleSql("'staging'")) })
        .returning(['id', 'notified_cycle_id']);
      const [resolved] = await writer('errors')
        .where({ id: told })
        .update({ status: 'resolved', resolved_at: new Date(), resolution_notified_cycle_id: writer.raw(newsCycleSql("'staging'")) })
        .returning(['id', 'resolution_notified_cycle_id']);
      // …and a fix takes that cycle before the writer commits: it cannot see the writer's news.
      const raced = await fixStaging();
      expect(raced.cycleId).toBe(Number(opened.notified_cycle_id));
      expect(raced).toMatchObject({ newCount: 0, resolvedCount: 0 });
      await raiseDigestNews(writer, 'staging', { opened: [opened.id], resolved: [resolved.id], cycles: [Number(opened.notified_cycle_id)] });
      await writer.commit();

      // The next cycle tells both.
      const next = await fixStaging();
      expect(next).toMatchObject({ newCount: 1, resolvedCount: 1 });
      expect(await db('errors').whereIn('id', [opened.id, told]).orderBy('id').select('notified_cycle_id', 'resolution_notified_cycle_id')).toEqual([
        { notified_cycle_id: expect.any(Number), resolution_notified_cycle_id: next.cycleId },
        { notified_cycle_id: next.cycleId, resolution_notified_cycle_id: null },
      ]);
    });
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startFixture } from './helpers/fixture.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { applyCatalog } from '../catalog/catalog.js';
import { CatalogError } from '../catalog/catalog-error.js';
import { HeraldInputError, type ReportedError } from '../client/index.js';
import { errorReport, connectionStatus } from '../workflows/index.js';
import { storedUpdate } from '../workflows/error-report.js';
import { reportStatusUpdate } from '../workflows/connection-status.js';
import { connectionStatusWorkflowId } from '../workflows/workflow-ids.js';

/** Refuses within `ms`, or fails the test: no input may make a call wait without end. */
async function settlesWithin<T>(ms: number, promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  try {
    return { value: await Promise.race([promise, timeout]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('still waiting')) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

const fieldsOf = (error: unknown) => (error as HeraldInputError).problems.map((p) => p.field);

describe('hostile input: refused by name, never a hang, never half-stored', async () => {
  const { env, db, mail, herald } = await startFixture({ herald: { connectionGraceMs: 0 } });
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: 15 * 60_000 });
  const errorCount = async () => Number((await db('errors').count({ n: '*' }))[0]!.n);

  it('S35: NUL characters, lone surrogates and impossible dates are refused by the client, each field named, nothing stored', async () => {
    const before = await errorCount();
    const bad: [string, ReportedError][] = [
      ['errors[0].message', { traceKey: 'ok', message: 'a\u0000b' }],
      ['errors[0].traceKey', { traceKey: 'k\u0000', message: 'ok' }],
      ['errors[0].code', { traceKey: 'ok', message: 'ok', code: '\ud800' }],
      ['errors[0].step', { traceKey: 'ok', message: 'ok', step: 'x\udfff' }],
      ['errors[0].record', { traceKey: 'ok', message: 'ok', record: { nested: ['\u0000'] } }],
      ['errors[0].record', { traceKey: 'ok', message: 'ok', record: { ['k\u0000']: 1 } }],
      ['errors[0].occurredAt', { traceKey: 'ok', message: 'ok', occurredAt: '2026-02-30T00:00Z' }],
      ['errors[0].occurredAt', { traceKey: 'ok', message: 'ok', occurredAt: '0000-01-01T00:00Z' }],
      ['errors[0].occurredAt', { traceKey: 'ok', message: 'ok', occurredAt: '2026-11-27T24:00Z' }],
    ];
    for (const [field, error] of bad) {
      const { error: refused } = await settlesWithin(10_000, herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [error] }));
      expect(refused, field).toBeInstanceOf(HeraldInputError);
      expect(fieldsOf(refused)).toEqual([field]);
    }
    const success = await settlesWithin(10_000, herald.client.reportSuccesses({ environment: 'prod', flow: 'orders', traceKeys: ['ok', 'bad\u0000'] }));
    expect(fieldsOf(success.error)).toEqual(['traceKeys[1]']);
    const connection = await settlesWithin(10_000, herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'down\u0000' }));
    expect(fieldsOf(connection.error)).toEqual(['reason']);
    expect(await errorCount()).toBe(before);
  });

  it('S35: the same input given straight to the workflows (past the client) is refused by name at once, and the connection carries on', async () => {
    const before = await errorCount();
    const handle = await herald.temporal.workflow.start(errorReport, {
      workflowId: 'errors/prod/orders/direct-nul',
      taskQueue: herald.taskQueue,
      args: [{ environment: 'prod', flow: 'orders', reportId: 'direct-nul', errors: [{ traceKey: 'd-1', message: 'nul \u0000 here', occurredAt: '2026-02-30T00:00Z' }] }],
    });
    const stored = await settlesWithin(10_000, handle.executeUpdate(storedUpdate));
    const storedRefusal = (stored.error as Error & { cause?: Error }).cause;
    expect(storedRefusal?.message).toMatch(/errors\[0\]\.message: holds a NUL character/);
    expect(storedRefusal?.message).toMatch(/errors\[0\]\.occurredAt: must be an ISO 8601 date-time/);
    expect(await errorCount()).toBe(before);

    const connection = await herald.temporal.workflow.start(connectionStatus, {
      workflowId: connectionStatusWorkflowId('erp'),
      taskQueue: herald.taskQueue,
      args: [{ connection: 'erp' }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    const refused = await settlesWithin(10_000, connection.executeUpdate(reportStatusUpdate, { args: [{ environment: 'prod', status: 'offline', reason: 'x\u0000y' }] }));
    expect((refused.error as Error & { cause?: Error }).cause?.message).toMatch(/reason: holds a NUL character/);
    // The connection's workflow is not stuck: its next real change is emailed.
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'ECONNREFUSED' });
    await env.sleep(5_000);
    expect(mail.to('ops@acme.test').map((m) => m.parsed.subject)).toContain('Connection ERP API is offline');
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await env.sleep(5_000);
  });

  it('S35: a data error PostgreSQL raises inside an activity fails the call with a named refusal, not an endless retry; the digest carries on', async () => {
    await db.raw(`alter table errors add constraint test_refuses_forbidden check (message <> 'forbidden by the database')`);
    try {
      const { error } = await settlesWithin(15_000, herald.client.reportErrors({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'db-1', message: 'forbidden by the database' }] }));
      expect(error).toBeInstanceOf(HeraldInputError);
      expect((error as HeraldInputError).problems).toEqual([{ field: '(data)', message: 'PostgreSQL refused the data: a value is not one of those allowed (SQLSTATE 23514)' }]);
      expect((error as HeraldInputError).message).not.toMatch(/insert into|select /i);
    } finally {
      await db.raw('alter table errors drop constraint test_refuses_forbidden');
    }
    const summary = await settlesWithin(30_000, runCycleNow(herald.temporal, 'prod'));
    expect(summary.error).toBeUndefined();
  });

  it('S35: a connection change PostgreSQL refuses is recorded and skipped; the connection\'s later changes are still emailed', async () => {
    await db.raw(`alter table connection_events add constraint test_refuses_poison check (reason is distinct from 'poison')`);
    mail.clear();
    try {
      await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'poison' });
      await env.sleep(5_000);
      expect(mail.received).toHaveLength(0);
    } finally {
      await db.raw('alter table connection_events drop constraint test_refuses_poison');
    }
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'ETIMEDOUT' });
    await env.sleep(5_000);
    expect(mail.to('ops@acme.test').map((m) => m.parsed.subject)).toEqual(['Connection ERP API is offline']);
    const run = await herald.temporal.workflow.getHandle(connectionStatusWorkflowId('erp')).describe();
    expect(run.status.name).toBe('RUNNING');
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await env.sleep(5_000);
  });

  it('S35: generated reports are stored and read back exactly, or refused with named fields; never a hang or a crash', async () => {
    // Also what quotes, separates or stands for NULL in a PostgreSQL array literal (reports travel as arrays).
    const unit = fc.oneof(fc.constantFrom('\u0000', '\ud800', '\u2028', '\u202e', 'é', '😀', '<', '"', '{', '}', ',', '\\', "'", ' '), fc.string({ minLength: 1, maxLength: 1 }));
    const text = fc.oneof(fc.constantFrom('NULL', 'null', '{}', '""'), fc.string({ unit, minLength: 0, maxLength: 12 }));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record(
            {
              traceKey: text,
              message: text,
              code: fc.option(text, { nil: undefined }),
              step: fc.option(text, { nil: undefined }),
              record: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
              occurredAt: fc.option(fc.constantFrom('2026-11-27T10:15:00Z', '2026-02-30T00:00Z', '2024-02-29T23:59:59+14:00', 'soon'), { nil: undefined }),
            },
            { requiredKeys: ['traceKey', 'message'] },
          ),
          { minLength: 1, maxLength: 3 },
        ),
        async (errors) => {
          run += 1;
          const reportId = `generated-${run}`;
          const outcome = await settlesWithin(15_000, herald.client.reportErrors({ environment: 'prod', flow: 'customers', reportId, errors }));
          if (outcome.error) {
            expect(outcome.error).toBeInstanceOf(HeraldInputError);
            for (const field of fieldsOf(outcome.error)) expect(field).toMatch(/^errors\[\d\]\.(traceKey|message|code|step|record|occurredAt)$/);
            expect(await db('errors').where({ report_id: reportId }).count({ n: '*' })).toEqual([{ n: 0 }]);
            return;
          }
          const stored = await db('errors').where({ report_id: reportId }).orderBy('id').select('trace_key', 'message', 'code', 'step', 'record', 'occurred_at');
          expect(stored.map((r) => [r.trace_key, r.message, r.code, r.step, r.record])).toEqual(
            errors.map((e) => [e.traceKey, e.message, e.code ?? null, e.step ?? null, e.record === undefined ? null : JSON.parse(JSON.stringify(e.record))]),
          );
          errors.forEach((e, i) => e.occurredAt && expect(stored[i]!.occurred_at.getTime()).toBe(Date.parse(e.occurredAt)));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('S36: an environment, integration, connection or flow of one account cannot be taken over by another account\'s catalog', async () => {
    await applyCatalog(db, { accounts: [{ id: 'globex', name: 'Globex' }], environments: [{ id: 'globex-prod', account: 'globex', name: 'Production', production: true }] });
    const attempts: [object, string, RegExp][] = [
      [{ environments: [{ id: 'prod', account: 'globex', name: 'Ours now', production: true }] }, 'environments[0].account', /belongs to account "acme"/],
      [{ integrations: [{ id: 'shop', environment: 'globex-prod', name: 'Ours now' }] }, 'integrations[0].environment', /belongs to account "acme"/],
      [{ connections: [{ id: 'erp', environment: 'globex-prod', name: 'Ours now' }] }, 'connections[0].environment', /belongs to account "acme"/],
      [{ integrations: [{ id: 'globex-shop', environment: 'globex-prod', name: 'Shop' }], flows: [{ id: 'orders', integration: 'globex-shop', name: 'Ours now' }] }, 'flows[0].integration', /belongs to account "acme"/],
    ];
    for (const [catalog, field, message] of attempts) {
      const refused = await applyCatalog(db, catalog).catch((e: unknown) => e);
      expect(refused, field).toBeInstanceOf(CatalogError);
      expect((refused as CatalogError).problems).toEqual([{ field, message: expect.stringMatching(message) }]);
    }
    expect(await db('environments').where({ id: 'prod' }).first('account_id', 'name')).toEqual({ account_id: 'acme', name: 'Production' });
    expect(await db('flows').where({ id: 'orders' }).first('integration_id', 'name')).toEqual({ integration_id: 'shop', name: 'Orders' });
    expect(await db('integrations').where({ id: 'globex-shop' }).first()).toBeUndefined();
    // A user is one account's: the same address in another account is another user, and the first is untouched.
    await applyCatalog(db, { users: [{ account: 'globex', email: 'ops@acme.test', role: 'monitor' }] });
    expect(await db('users').where({ email: 'ops@acme.test' }).orderBy('account_id').select('account_id', 'role')).toEqual([
      { account_id: 'acme', role: 'admin' },
      { account_id: 'globex', role: 'monitor' },
    ]);
  });

  it('S37: addresses that are not plain are refused at their path; one slipped into the database is never mailed', async () => {
    for (const email of ['grp:evil@evil.example', 'a(comment)@acme.test', 'Ops <ops2@acme.test>', 'ops3@acme.test\r\nBcc: evil@evil.example']) {
      const refused = await applyCatalog(db, { users: [{ account: 'acme', email, role: 'monitor' }] }).catch((e: unknown) => e);
      expect((refused as CatalogError).problems, email).toEqual([{ field: 'users[0].email', message: expect.stringMatching(/^must be a plain email address/) }]);
    }
    const [user] = await db('users').insert({ account_id: 'acme', email: 'grp:evil@evil.example', role: 'monitor' }).returning('id');
    await db('subscriptions').insert({ user_id: user.id, environment_id: 'prod', flow_id: 'invoices' });
    mail.clear();
    await herald.client.reportErrors({ environment: 'prod', flow: 'invoices', errors: [{ traceKey: 'INV-37', message: 'Address test' }] });
    const summary = await runCycleNow(herald.temporal, 'prod');
    expect(summary.failed).toBe(1);
    expect(mail.received.flatMap((m) => m.envelopeTo).filter((to) => to.includes('evil'))).toEqual([]);
    expect(await db('notifications').whereNull('channel_id').where({ user_id: user.id }).first('status', 'last_error')).toEqual({
      status: 'failed',
      last_error: expect.stringMatching(/not a plain email address/),
    });
    await db('subscriptions').where({ user_id: user.id }).delete();
  });

  it('S37: direction overrides and line separators cannot reorder or break a subject or a row', async () => {
    await applyCatalog(db, { environments: [{ id: 'staging', account: 'acme', name: 'Stag\u202eing', production: false }] });
    mail.clear();
    await herald.client.reportErrors({ environment: 'staging', flow: 'staging-orders', errors: [{ traceKey: 'K\u2028Bcc: x', message: 'line\u0085break \u202egnp.exe' }] });
    await startDigest(herald.temporal, herald.taskQueue, { environment: 'staging', intervalMs: 15 * 60_000 });
    await runCycleNow(herald.temporal, 'staging');
    const [email] = mail.to('ops@acme.test');
    expect(email!.parsed.subject).toBe('[Staging] 1 new error in Acme flows');
    for (const part of [email!.parsed.subject, email!.parsed.text, String(email!.parsed.html)]) expect(part).not.toMatch(/[\u202e\u2028\u0085]/);
    expect(email!.parsed.text).toContain('line break gnp.exe');
    expect(email!.parsed.headers.has('bcc')).toBe(false);
  });
});

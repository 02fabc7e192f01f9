import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { rowsOf, runCycleNow, startDigest } from './helpers/digests.js';
import type { HeraldInputError } from '../client/index.js';

describe('assigning errors (S32)', async () => {
  const { db, mail, herald } = await startFixture();
  const { client } = herald;
  await client.reportErrors({
    environment: 'prod',
    flow: 'orders',
    reportId: 'assign-1',
    errors: [
      { traceKey: 'SO-1', message: 'Customer not found' },
      { traceKey: 'SO-2', message: 'Price list missing' },
      { traceKey: 'SO-3', message: 'Tax code missing' },
    ],
  });
  const ids = async (...traceKeys: string[]) => (await db('errors').whereIn('trace_key', traceKeys).orderBy('id').pluck('id')).map(Number);
  const assigneeOf = async (traceKey: string) =>
    (await db('errors as e').leftJoin('users as u', 'u.id', 'e.assignee_id').where('e.trace_key', traceKey).first('u.email'))!.email as string | null;

  it('S32: the assignee is emailed at once, one email per assignment action, whatever their subscriptions', async () => {
    // The watcher (a monitor) follows nothing in production: assignment emails come all the same.
    const assigned = await client.assignErrors({ environment: 'prod', errorIds: await ids('SO-1', 'SO-2'), assignee: 'watcher@acme.test', user: 'orders-team@acme.test', requestId: 'a-1' });
    expect(assigned).toEqual(await ids('SO-1', 'SO-2'));
    const [email] = await mail.waitFor(1, { to: 'watcher@acme.test' });
    expect(email!.parsed.subject).toBe('orders-team@acme.test assigned you 2 errors in Acme flows');
    const html = String(email!.parsed.html);
    expect(html).toContain('Customer not found');
    expect(html).toContain('Price list missing');
    expect(html).toContain(`https://app.herald.test/environments/prod/errors/${(await ids('SO-1'))[0]}`);
    expect(await assigneeOf('SO-1')).toBe('watcher@acme.test');

    // The same request again (a retry, a double click): answered by the same run, which has
    // ended: one action, one email planned and sent, none to come.
    await client.assignErrors({ environment: 'prod', errorIds: await ids('SO-1', 'SO-2'), assignee: 'watcher@acme.test', user: 'orders-team@acme.test', requestId: 'a-1' });
    expect(await db('assignment_events').where({ request_id: 'a-1' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await db('notifications').whereNull('channel_id').where({ kind: 'assignment', recipient: 'watcher@acme.test' }).select('status')).toEqual([{ status: 'sent' }]);
    expect(mail.to('watcher@acme.test')).toHaveLength(1);
  });

  it('S32: reassignment tells the new assignee, and only them', async () => {
    mail.clear();
    await client.assignErrors({ environment: 'prod', errorIds: await ids('SO-2'), assignee: 'ops@acme.test', user: 'orders-team@acme.test' });
    const [email] = await mail.waitFor(1, { to: 'ops@acme.test' });
    expect(email!.parsed.subject).toBe('orders-team@acme.test assigned you 1 error in Acme flows');
    expect(mail.to('watcher@acme.test')).toHaveLength(0);
    expect([await assigneeOf('SO-1'), await assigneeOf('SO-2')]).toEqual(['watcher@acme.test', 'ops@acme.test']);
  });

  it('S32, S23: monitors cannot assign; an assignee must be a user of the account; refused by name, nothing changes, nobody emailed', async () => {
    mail.clear();
    const [so3] = await ids('SO-3');
    const byMonitor = await client.assignErrors({ environment: 'prod', errorIds: [so3!], assignee: 'ops@acme.test', user: 'watcher@acme.test' }).catch((e: unknown) => e);
    expect((byMonitor as HeraldInputError).problems).toEqual([{ field: 'user', message: '"watcher@acme.test" is a monitor user: monitors read, they do not assign errors' }]);
    const toStranger = await client.assignErrors({ environment: 'prod', errorIds: [so3!], assignee: 'someone@else.test', user: 'ops@acme.test' }).catch((e: unknown) => e);
    expect((toStranger as HeraldInputError).problems).toEqual([{ field: 'assignee', message: '"someone@else.test" is not a user of this environment\'s account' }]);
    expect(await assigneeOf('SO-3')).toBeNull();
    // Refused before anything was recorded: no action, so no email planned that could still come.
    expect(await db('assignment_events').whereRaw('? = any(error_ids)', [so3!]).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(mail.received).toHaveLength(0);
  });

  it('S32: digests show who an error is assigned to', async () => {
    mail.clear();
    await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: 15 * 60_000 });
    await runCycleNow(herald.temporal, 'prod');
    const [digest] = await mail.waitFor(1, { to: 'orders-team@acme.test' });
    const rows = rowsOf(digest!, 'new');
    expect(rows.find((row) => row.includes('SO-1'))).toContain('assigned to watcher@acme.test');
    expect(rows.find((row) => row.includes('SO-3'))).not.toContain('assigned to');
    expect(digest!.parsed.text).toContain('assigned to ops@acme.test');
  });
});

/**
 * S49: one notification, every transport. In one cycle of one environment, each kind of
 * notification (a digest, a connection going offline, a reminder, an assignment) reaches each
 * transport (email, Slack, Teams, a signed webhook, PagerDuty) through the one outbox, and the
 * cycle's one tally counts each, by kind and transport, as the receivers saw them. A real Herald
 * worker, the server as `npm run server` builds it, a mail server and local receivers.
 */
import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { startChannelReceiver } from './helpers/channel-receiver.js';
import { startPagerDutyReceiver } from './helpers/pagerduty-receiver.js';
import { applyCatalog } from '../catalog/catalog.js';
import { apiPrefix } from '../server/api.js';
import { createTokenStore } from '../stores/token-store.js';
import { remindNowUpdate } from '../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';

const minutes = (n: number) => n * 60_000;

describe('S49: one notification, every transport', async () => {
  const { env, db, mail, herald } = await startFixture({
    also: [
      {
        users: [
          { account: 'acme', email: 'hooks@acme.test', name: 'Hooks', role: 'manage' },
          { account: 'acme', email: 'oncall@acme.test', name: 'On call', role: 'monitor' },
        ],
        subscriptions: [
          { environment: 'prod', user: 'orders-team@acme.test', flows: ['orders'], connections: ['erp'] },
          { environment: 'prod', user: 'hooks@acme.test', flows: ['invoices'], connections: ['erp'] },
          { environment: 'prod', user: 'oncall@acme.test', flows: ['orders'], connections: ['erp'] },
        ],
      },
    ],
    herald: { channelAllow: '127.0.0.1', connectionGraceMs: 0 },
  });
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_CHANNEL_ALLOW: '127.0.0.1' } });
  const token = (await createTokenStore(db).create('acme', 'acme platform', ['read', 'manage'])).token;
  const get = async (path: string) => {
    const response = await fetch(`${server.url}${apiPrefix}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const put = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${apiPrefix}${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status, `PUT ${path}: ${await response.clone().text()}`).toBeLessThan(300);
  };
  const receiver = await startChannelReceiver();
  const pagerDuty = await startPagerDutyReceiver();
  const routingKey = 'R0UT1NGKEY0F32LETTERSANDDIGITS00';
  pagerDuty.keys.add(routingKey);

  // Ops: email and Slack. The orders team: Teams instead of email. Hooks: email and a signed webhook. On call: PagerDuty alone.
  await put('/channels/ops-slack', { kind: 'slack', url: receiver.url('/slack') });
  await put('/channels/orders-teams', { kind: 'teams', url: receiver.url('/teams') });
  await put('/channels/platform-hook', { kind: 'webhook', url: receiver.url('/hook') });
  await put('/channels/pager', { kind: 'pagerduty', url: pagerDuty.url, secret: routingKey });
  await put('/environments/prod/targets/ops@acme.test', { email: true, channel: 'ops-slack' });
  await put('/environments/prod/targets/orders-team@acme.test', { email: false, channel: 'orders-teams' });
  await put('/environments/prod/targets/hooks@acme.test', { email: true, channel: 'platform-hook' });
  await put('/environments/prod/targets/oncall@acme.test', { email: false, channel: 'pager' });
  await applyCatalog(db, { environments: [{ id: 'prod', account: 'acme', name: 'Production', production: true, remindAfter: '1 minute' }] });
  // Cycles come when the test asks: no interval timer comes due in its minutes of skipped time.
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: minutes(24 * 60) });
  const cycle = () => runCycleNow(herald.temporal, 'prod');

  it('S49: a digest, a connection change, a reminder and an assignment each reach email, Slack, Teams, a webhook and PagerDuty in one cycle, counted in one tally as the receivers saw them', async () => {
    expect((await cycle()).tally).toBeUndefined();
    const report = (flow: string, traceKey: string) => herald.client.reportErrors({ environment: 'prod', flow, errors: [{ traceKey, message: `Failure of ${traceKey}` }] });
    await report('orders', 'SO-1');
    await report('invoices', 'IN-1');
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'TLS handshake timeout' });
    // Open past the environment's threshold: the reminder's look finds both errors.
    await env.sleep(minutes(2));
    await herald.temporal.workflow.getHandle(environmentDigestWorkflowId('prod')).executeUpdate(remindNowUpdate);
    const errorId = async (traceKey: string) => Number((await db('errors').where({ trace_key: traceKey }).first('id')).id);
    for (const assignee of ['ops@acme.test', 'orders-team@acme.test', 'oncall@acme.test']) {
      await herald.client.assignErrors({ environment: 'prod', errorIds: [await errorId('SO-1')], assignee, user: 'hooks@acme.test' });
    }
    await herald.client.assignErrors({ environment: 'prod', errorIds: [await errorId('IN-1')], assignee: 'hooks@acme.test', user: 'ops@acme.test' });
    // Everything planned so far has had its attempt: none waits for a first one.
    await expect.poll(() => db('notifications').where({ status: 'pending' }).whereNull('retry_at').count({ n: '*' }).first(), { timeout: 30_000 }).toEqual({ n: 0 });

    const summary = await cycle();
    const sent = (n: number) => ({ sent: n, failed: 0, deferred: 0, cancelled: 0 });
    // PagerDuty is told of outages and of production flows with errors open: reminders and assignments are people's business.
    const declined = { sent: 0, failed: 0, deferred: 0, cancelled: 1 };
    const everywhere = (pagerduty: typeof declined) => ({ email: sent(2), slack: sent(1), teams: sent(1), webhook: sent(1), pagerduty });
    expect(summary.tally).toEqual({
      digest: everywhere(sent(1)),
      connection: everywhere(sent(1)),
      reminder: everywhere(declined),
      assignment: everywhere(declined),
    });

    // What the tally says is what each receiver took: four of each channel, two PagerDuty events, eight emails.
    for (const path of ['/slack', '/teams', '/hook']) expect(receiver.accepted(path), path).toHaveLength(4);
    expect(pagerDuty.events().filter((e) => e.status === 202).map((e) => e.event.dedup_key).sort()).toEqual(['herald/acme/prod/connection/erp', 'herald/acme/prod/flow/orders']);
    const emailed = mail.received.map((m) => `${m.envelopeTo.join(',')}: ${m.parsed.subject}`).sort();
    expect(emailed).toHaveLength(8);
    for (const person of ['ops@acme.test', 'hooks@acme.test']) expect(emailed.filter((line) => line.startsWith(`${person}:`)), person).toHaveLength(4);

    // Each person's own list, over the API as on their page, holds what reached them by any transport.
    type Listed = { kind: string; transport: string; status: string; channel: string | null; lastError: string | null };
    const messagesOf = async (email: string) => ((await get(`/users/${email}/messages`)).body.messages as Listed[]).map((m) => `${m.kind} ${m.transport}${m.channel ? ` ${m.channel}` : ''}: ${m.status}`).sort();
    expect(await messagesOf('ops@acme.test')).toEqual(['assignment', 'connection', 'digest', 'reminder'].flatMap((kind) => [`${kind} email: sent`, `${kind} slack ops-slack: sent`]));
    expect(await messagesOf('oncall@acme.test')).toEqual(['assignment pagerduty pager: cancelled', 'connection pagerduty pager: sent', 'digest pagerduty pager: sent', 'reminder pagerduty pager: cancelled']);
    const [declinedReminder] = ((await get('/users/oncall@acme.test/messages')).body.messages as Listed[]).filter((m) => m.kind === 'reminder');
    expect(declinedReminder!.lastError).toMatch(/^not sent: PagerDuty is told of connections going offline and back/);
    expect(await get('/users/nobody@acme.test/messages')).toEqual({ status: 404, body: { error: 'not found: no user "nobody@acme.test"' } });

    // The account's one list, people and channels alike; its channels alone unless asked (as before).
    type Message = { kind: string; transport: string; channel: string | null; recipient: string | null; status: string };
    const all = (await get('/messages?to=all')).body.messages as Message[];
    expect(new Set(all.map((m) => `${m.kind} ${m.transport}`)).size).toBe(20);
    expect(all.filter((m) => m.transport === 'email').map((m) => m.recipient).sort()).toEqual([...Array(4).fill('hooks@acme.test'), ...Array(4).fill('ops@acme.test')]);
    expect(((await get('/messages')).body.messages as Message[]).filter((m) => m.transport === 'email')).toEqual([]);
    const people = await get('/messages?to=people&limit=3');
    expect((people.body.messages as Message[]).map((m) => m.transport)).toEqual(['email', 'email', 'email']);
    expect(people.body.next).toMatch(/^\/api\/v1\/messages\?to=people&before=\d+&limit=3$/);
    const wrong = await get('/messages?to=everyone');
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.body)).toContain('must be channels, people or all');
  });
});

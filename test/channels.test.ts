/**
 * S43: channels on the real stack. The server as `npm run server` builds it makes channels and
 * targets; a real Herald worker posts digests and connection changes to local receivers that
 * check what Slack, Teams and a Standard Webhooks consumer check (Block Kit and Adaptive Card
 * shapes, the signature with the library's own verify), and that refuse: 429 with Retry-After,
 * 500 for a while, 410 gone, a slow answer, a redirect to 127.0.0.1.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Webhook } from 'standardwebhooks';
import { startFixture } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import { runCycleNow, startDigest } from './helpers/digests.js';
import { startChannelReceiver } from './helpers/channel-receiver.js';
import { startPagerDutyReceiver } from './helpers/pagerduty-receiver.js';
import { applyCatalog } from '../catalog/catalog.js';
import { apiPrefix } from '../server/api.js';
import { createTokenStore } from '../stores/token-store.js';
import { digestEventSchema, connectionEventSchema, assignmentEventSchema } from '../channels/events.js';
import { remindNowUpdate } from '../workflows/environment-digest.js';
import { createDeliveryStore, type SendFence } from '../stores/delivery-store.js';
import { claimFreshMs, claimsTogether, SendingAttemptSupersededError, sendNotifications, type SendTally } from '../notifications/send.js';
import { postLane } from '../notifications/post-messages.js';
import { channelAgents } from '../channels/post.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { testCatalog } from './helpers/world.js';
import { testSecret } from './helpers/herald.js';

const minutes = (n: number) => n * 60_000;

/** Block Kit as Slack takes it from an incoming webhook: fallback text, at most 50 known blocks, texts within their limits. */
const plainText = (max: number) => z.object({ type: z.literal('plain_text'), text: z.string().min(1).max(max) });
const blockKit = z.object({
  text: z.string().min(1),
  blocks: z
    .array(
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('header'), text: plainText(150) }),
        z.object({ type: z.literal('section'), text: z.object({ type: z.literal('mrkdwn'), text: z.string().min(1).max(3000) }) }),
        z.object({ type: z.literal('context'), elements: z.array(z.object({ type: z.literal('mrkdwn'), text: z.string() })).max(10) }),
        z.object({ type: z.literal('actions'), elements: z.array(z.object({ type: z.literal('button'), text: plainText(75), url: z.string().url() })) }),
      ]),
    )
    .max(50),
});
/** The message a Teams workflow webhook takes: one Adaptive Card attachment, within 28 KB. */
const adaptiveCardMessage = z.object({
  type: z.literal('message'),
  attachments: z
    .array(
      z.object({
        contentType: z.literal('application/vnd.microsoft.card.adaptive'),
        content: z.object({ type: z.literal('AdaptiveCard'), version: z.string(), body: z.array(z.object({ type: z.string() })).min(1), actions: z.array(z.object({ type: z.literal('Action.OpenUrl'), url: z.string().url() })) }),
      }),
    )
    .length(1),
});
/** Every run of text in a card, as Teams shows it. */
const cardText = (message: unknown) => JSON.stringify(message).match(/"text":"(?:[^"\\]|\\.)*"/g)?.join('\n') ?? '';

describe('S43: channels', async () => {
  const { env, db, mail, herald } = await startFixture({
    also: [
      {
        users: [{ account: 'acme', email: 'hooks@acme.test', name: 'Hooks', role: 'manage' }],
        subscriptions: [{ environment: 'prod', user: 'hooks@acme.test', flows: ['invoices'] }],
      },
    ],
    herald: { channelAllow: '127.0.0.1', channelTimeoutMs: 1_500, connectionGraceMs: 0, deliveryRetryLimitMs: minutes(60) },
  });
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_CHANNEL_ALLOW: '127.0.0.1' } });
  const strict = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue });
  const token = (await createTokenStore(db).create('acme', 'acme platform', ['read', 'manage'])).token;
  const receiver = await startChannelReceiver();
  // Cycles come when a test asks: no interval timer comes due in this file's hours of skipped time.
  await startDigest(herald.temporal, herald.taskQueue, { environment: 'prod', intervalMs: minutes(24 * 60) });
  const cycle = () => runCycleNow(herald.temporal, 'prod');

  const call = async (method: string, path: string, body?: unknown, base = server.url) => {
    const response = await fetch(`${base}${apiPrefix}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { problems?: { field: string; message: string }[] } };
  };
  const report = (flow: string, traceKey: string, message = `Failure of ${traceKey}`) =>
    herald.client.reportErrors({ environment: 'prod', flow, errors: [{ traceKey, message }] });
  const messagesOf = (channel: string) =>
    db('notifications as m').join('channels as c', 'c.id', 'm.channel_id').where('c.name', channel).whereNull('c.removed_at').orderBy('m.id').select('m.*');

  // Slack for ops (and email), Teams for the orders team instead of email, a signed webhook for hooks.
  const made = {
    slack: await call('PUT', '/channels/ops-slack', { kind: 'slack', url: receiver.url('/slack') }),
    teams: await call('PUT', '/channels/orders-teams', { kind: 'teams', url: receiver.url('/teams') }),
    webhook: await call('PUT', '/channels/platform-hook', { kind: 'webhook', url: receiver.url('/hook') }),
  };
  const secret = String(made.webhook.body.secret);
  const verify = (request: { body: string; headers: Record<string, unknown> }) =>
    new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
  await call('PUT', '/environments/prod/targets/ops@acme.test', { email: true, channel: 'ops-slack' });
  await call('PUT', '/environments/prod/targets/orders-team@acme.test', { email: false, channel: 'orders-teams' });
  await call('PUT', '/environments/prod/targets/hooks@acme.test', { email: true, channel: 'platform-hook' });

  beforeEach(async () => {
    await applyCatalog(db, testCatalog);
    await db('errors').whereIn('status', ['open', 'retrying']).update({ status: 'resolved', resolved_by: 'setup@acme.test', resolved_at: db.fn.now() });
    await cycle();
    await db('notifications').whereNotNull('channel_id').where({ status: 'pending' }).update({ status: 'failed', retry_at: null });
    await db('notifications').whereNull('channel_id').where({ status: 'pending' }).update({ status: 'failed', retry_at: null });
    receiver.clear();
    mail.clear();
  });

  it('S43: channels are made over the API; a URL on plain HTTP, a private or loopback address or this machine is refused unless allowed; a webhook answers its secret once, and no URL is ever answered', async () => {
    expect(made.slack.status).toBe(201);
    expect(made.webhook.body).toMatchObject({ name: 'platform-hook', kind: 'webhook', host: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(made.slack.body.secret).toBeUndefined();
    const again = await call('PUT', '/channels/platform-hook', { kind: 'webhook', url: receiver.url('/hook') });
    expect(again.status).toBe(200);
    expect(again.body.secret).toBeUndefined();
    const listed = await call('GET', '/channels');
    expect(JSON.stringify(listed.body)).not.toMatch(/\/hook|\/slack|whsec_/);
    expect((listed.body.channels as { name: string }[]).map((c) => c.name)).toEqual(['ops-slack', 'orders-teams', 'platform-hook']);
    expect((await call('PUT', '/channels/platform-hook', { kind: 'slack', url: receiver.url('/hook') })).status).toBe(409);

    const refused = async (url: string) => (await call('PUT', '/channels/bad', { kind: 'slack', url }, strict.url)).body.problems;
    expect(await refused(receiver.url('/slack'))).toEqual([{ field: 'url', message: 'must use https://' }]);
    for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '169.254.169.254', '[::1]', '[::ffff:127.0.0.1]', '0.0.0.0']) {
      expect(await refused(`https://${address}/hooks`), address).toEqual([{ field: 'url', message: expect.stringMatching(/private, loopback or reserved/) }]);
    }
    expect(await refused('https://localhost/x')).toEqual([{ field: 'url', message: 'must not point at this machine (localhost)' }]);
    expect(await refused('https://user:pw@hooks.slack.com/x')).toEqual([{ field: 'url', message: 'must not carry a user name or password' }]);
    expect(await refused('hooks.slack.com/x')).toEqual([{ field: 'url', message: 'must be an absolute URL (https://…)' }]);
    expect((await call('PUT', '/channels/bad', { kind: 'slack', url: 'https://hooks.slack.com/services/T0/B0/x' }, strict.url)).status).toBe(201);
    expect((await call('DELETE', '/channels/bad')).status).toBe(200);
    expect((await call('PUT', '/environments/prod/targets/ops@acme.test', { email: true, channel: 'nowhere' })).body.problems).toEqual([
      { field: 'channel', message: 'no channel "nowhere" in this account' },
    ]);
    expect((await call('PUT', '/environments/prod/targets/ops@acme.test', { email: false, channel: null })).body.problems).toEqual([
      { field: 'email', message: 'must send somewhere: email true, or a channel' },
    ]);
  });

  it('S49: a channel\'s own rhythm over the API: set, answered and listed; a wrong one refused by its field; left as it was by a PUT without one; null puts it back to every cycle', async () => {
    const url = receiver.url('/rhythm');
    const daily = { every: 'day', at: '09:00', timeZone: 'Europe/Berlin', quietHours: null };
    const made = await call('PUT', '/channels/rhythm-room', { kind: 'slack', url, rhythm: daily });
    expect(made.status).toBe(201);
    expect(made.body.rhythm).toEqual(daily);
    const wrong = await call('PUT', '/channels/rhythm-room', { kind: 'slack', url, rhythm: { every: 'day', timeZone: 'Mars/Olympus' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.problems).toEqual([
      { field: 'rhythm.timeZone', message: 'must be an IANA time zone such as "Europe/Berlin" or "UTC"' },
      { field: 'rhythm.at', message: 'is required for a daily digest' },
    ]);
    expect((await call('PUT', '/channels/rhythm-room', { kind: 'slack', url })).body.rhythm).toEqual(daily);
    const listed = (await call('GET', '/channels')).body.channels as { name: string; rhythm: unknown }[];
    expect(listed.find((c) => c.name === 'rhythm-room')!.rhythm).toEqual(daily);
    expect((await call('PUT', '/channels/rhythm-room', { kind: 'slack', url, rhythm: null })).body.rhythm).toBeNull();
    expect(await db('channel_rhythms').count({ n: '*' }).first()).toEqual({ n: 0 });
    expect((await call('DELETE', '/channels/rhythm-room')).status).toBe(200);
  });

  it('S43: a cycle posts once to each channel with news, in its native format; email goes to those who kept it, and a quiet cycle posts nothing', async () => {
    await report('orders', 'SO-1', 'Customer <!channel> & *everyone* <https://evil.test|click> not found');
    await report('orders', 'SO-2');
    await report('customers', 'CU-1');
    await report('invoices', 'IN-1');
    const summary = await cycle();
    expect(summary.channelMessages).toEqual({ planned: 3, sent: 3, failed: 0, deferred: 0 });
    // One tally of the cycle's notifications, by transport (S49).
    const once = { sent: 1, failed: 0, deferred: 0, cancelled: 0 };
    expect(summary.notifications).toEqual({ email: { ...once, sent: 2 }, slack: once, teams: once, webhook: once });
    // Email: ops and hooks; the orders team chose Teams instead.
    expect(mail.received.flatMap((m) => m.envelopeTo).sort()).toEqual(['hooks@acme.test', 'ops@acme.test']);

    const [slack] = receiver.accepted('/slack');
    expect(receiver.received('/slack')).toHaveLength(1);
    const blocks = blockKit.parse(slack);
    expect(blocks.text).toBe('Herald digest: 4 new, 0 resolved, 4 open in Production');
    const slackText = JSON.stringify(blocks.blocks);
    // Slack's control characters are escaped: no mention, no link but Herald's own.
    expect(slackText).toContain('Customer &lt;!channel&gt; &amp; *\u200beveryone*\u200b &lt;https://evil.test|click&gt; not found');
    expect(slackText).not.toMatch(/<!channel>|<https:\/\/evil/);
    for (const key of ['SO-1', 'SO-2', 'CU-1', 'IN-1']) expect(slackText).toContain(key);

    const [teams] = receiver.accepted('/teams');
    adaptiveCardMessage.parse(teams);
    expect(Buffer.byteLength(JSON.stringify(teams))).toBeLessThanOrEqual(28 * 1024);
    expect(cardText(teams)).toContain('Herald digest: 2 new, 0 resolved, 2 open');
    expect(cardText(teams)).toContain('Customer <!channel> & *everyone* <https://evil.test|click> not found');
    expect(cardText(teams)).not.toContain('IN-1');

    const [hook] = receiver.received('/hook');
    const event = digestEventSchema.parse(verify(hook!));
    expect(event.data).toMatchObject({ environment: { id: 'prod', production: true }, cycle: summary.number, newErrors: 1, resolvedErrors: 0, openErrors: 1 });
    expect(event.data.firstNew.map((l) => l.traceKey)).toEqual(['IN-1']);
    expect(hook!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // A forged or changed body fails the consumer's own check.
    expect(() => verify({ ...hook!, body: hook!.body.replace('IN-1', 'IN-9') })).toThrow();

    // Nothing new: nothing posted.
    const quiet = await cycle();
    expect(quiet.channelMessages).toBeUndefined();
    expect(receiver.received()).toHaveLength(4 - 1);

    // Resolved errors the channel was told of: told as resolved, to that channel.
    const [so1] = await db('errors').where({ trace_key: 'SO-1' }).pluck('id');
    await herald.client.resolveErrors({ environment: 'prod', errorIds: [so1], user: 'ops@acme.test' });
    const resolved = await cycle();
    expect(resolved.channelMessages).toMatchObject({ planned: 2, sent: 2 });
    expect(blockKit.parse(receiver.accepted('/slack')[1]).text).toBe('Herald digest: 0 new, 1 resolved, 3 open in Production');
    expect(cardText(receiver.accepted('/teams')[1])).toContain('Herald digest: 0 new, 1 resolved, 1 open');
  });

  it('S43: 429 with Retry-After, then 500 for a while: tried again no sooner than asked, with backoff, and posted once; the email and the other channels did not wait', async () => {
    receiver.answer('/slack', { status: 429, retryAfter: '120' }, { status: 500 }, { status: 500 }, { status: 503 });
    await report('customers', 'CU-429');
    await report('orders', 'SO-429');
    const summary = await cycle();
    expect(summary.channelMessages).toEqual({ planned: 2, sent: 1, failed: 0, deferred: 1 });
    expect(mail.received.flatMap((m) => m.envelopeTo).sort()).toEqual(['ops@acme.test']);
    expect(receiver.accepted('/teams')).toHaveLength(1);
    const [deferred] = await messagesOf('ops-slack').then((rows) => rows.slice(-1));
    expect(deferred).toMatchObject({ status: 'pending', attempts: 1, last_status: 429 });
    // Not before the receiver asked: 120 s after the attempt (the cycle ended just after it).
    expect(deferred.retry_at.getTime() - Date.parse(summary.finishedAt)).toBeGreaterThan(110_000);

    await env.sleep(minutes(1));
    expect(receiver.received('/slack')).toHaveLength(1);
    await env.sleep(minutes(14));
    const [after] = await messagesOf('ops-slack').then((rows) => rows.slice(-1));
    expect(after).toMatchObject({ status: 'sent', attempts: 5 });
    expect(receiver.received('/slack').map((r) => r.status)).toEqual([429, 500, 500, 503, 200]);
    // The same message each time.
    expect(new Set(receiver.received('/slack').map((r) => r.body)).size).toBe(1);
    const waits = await db('notifications').whereNotNull('channel_id').where({ id: after.id }).first('deferred_since', 'sent_at');
    expect(waits.sent_at.getTime() - waits.deferred_since.getTime()).toBeGreaterThanOrEqual(120_000 + 10_000 + 20_000 + 40_000);
  });

  it('S43: retries are bounded by the delivery retry limit: a Retry-After beyond it fails the message at once, a channel down for longer fails it when the limit passes; both shown, and the email went', async () => {
    receiver.answer('/teams', { status: 429, retryAfter: String(2 * 60 * 60) });
    receiver.answer('/slack', ...Array.from({ length: 30 }, () => ({ status: 503 })));
    await report('orders', 'SO-LIMIT');
    const summary = await cycle();
    expect(summary.channelMessages).toEqual({ planned: 2, sent: 0, failed: 1, deferred: 1 });
    expect(mail.received.flatMap((m) => m.envelopeTo).sort()).toEqual(['ops@acme.test']);
    const [teams] = await messagesOf('orders-teams').then((rows) => rows.slice(-1));
    expect(teams).toMatchObject({ status: 'failed', attempts: 1, last_status: 429 });

    // The limit is 60 minutes from the first refusal: the doubling backoff is still trying at 30,
    // and gives up once its next wait would end past the limit.
    await env.sleep(minutes(30));
    const [down] = await messagesOf('ops-slack').then((rows) => rows.slice(-1));
    expect(down.status).toBe('pending');
    expect(down.attempts).toBeGreaterThan(4);
    await env.sleep(minutes(30));
    const [gaveUp] = await messagesOf('ops-slack').then((rows) => rows.slice(-1));
    expect(gaveUp).toMatchObject({ status: 'failed', last_status: 503 });
    expect(receiver.received('/slack')).toHaveLength(gaveUp.attempts);
    expect(receiver.accepted('/slack')).toHaveLength(0);
    const listed = (await call('GET', '/messages?limit=2')).body.messages as { channel: string; status: string; lastStatus: number | null }[];
    expect(listed.map((m) => [m.channel, m.status, m.lastStatus]).sort()).toEqual([
      ['ops-slack', 'failed', 503],
      ['orders-teams', 'failed', 429],
    ]);
  });

  it('S43: 410 gone and a redirect (to 127.0.0.1) are failed for good and shown in messages; the redirect is not followed; a slow receiver is tried again and nobody waits for it', async () => {
    receiver.answer('/teams', { status: 410 });
    receiver.answer('/hook', { status: 302, location: receiver.url('/internal') });
    receiver.answer('/slack', { delayMs: 5_000 });
    await report('orders', 'SO-410');
    await report('invoices', 'IN-302');
    const summary = await cycle();
    expect(summary.channelMessages).toEqual({ planned: 3, sent: 0, failed: 2, deferred: 1 });
    expect(mail.received.flatMap((m) => m.envelopeTo).sort()).toEqual(['hooks@acme.test', 'ops@acme.test']);
    expect(receiver.received('/internal')).toHaveLength(0);
    const listed = (await call('GET', '/messages?limit=3')).body.messages as { channel: string; status: string; lastStatus: number | null; lastError: string }[];
    expect(listed.find((m) => m.channel === 'orders-teams')).toMatchObject({ status: 'failed', lastStatus: 410 });
    expect(listed.find((m) => m.channel === 'platform-hook')).toMatchObject({ status: 'failed', lastStatus: 302, lastError: expect.stringMatching(/redirects are not followed/) });
    expect(listed.find((m) => m.channel === 'ops-slack')).toMatchObject({ status: 'pending', lastError: 'no answer in time' });
    await env.sleep(minutes(2));
    expect((await messagesOf('ops-slack').then((rows) => rows.at(-1))).status).toBe('sent');
    expect(receiver.accepted('/slack')).toHaveLength(1);
    // Failed for good: never tried again.
    await env.sleep(minutes(15));
    expect(receiver.received('/teams').filter((r) => r.status === 410)).toHaveLength(1);
    expect(receiver.received('/hook').filter((r) => r.status === 302)).toHaveLength(1);
  });

  it('S43: an address the worker does not allow is refused as the message connects (a URL saved under another policy), for good', async () => {
    const [{ id }] = await db('channels')
      .insert({ account_id: 'acme', name: 'elsewhere', kind: 'slack', url: receiver.url('/slack').replace('127.0.0.1', '127.0.0.2') })
      .returning('id');
    await db('subscription_targets').insert({ user_id: db('users').where({ email: 'watcher@acme.test' }).select('id'), environment_id: 'prod', email: true, channel_id: id });
    await applyCatalog(db, { subscriptions: [...testCatalog.subscriptions, { environment: 'prod', user: 'watcher@acme.test', flows: ['orders'] }] });
    await report('orders', 'SO-127');
    await cycle();
    const [message] = await messagesOf('elsewhere');
    expect(message).toMatchObject({ status: 'failed', attempts: 1 });
    expect(message.last_error).toMatch(/refused address.*127\.0\.0\.2.*not allowed/);
    await db('subscription_targets').where({ channel_id: id }).delete();
  });

  it("S27, S49: a person's messages over the API answer as many as asked while more exist: cycles that sent them nothing take no place in the list", async () => {
    const person = { account: 'acme', email: 'limits@acme.test', name: 'Limits', role: 'monitor' as const };
    await applyCatalog(db, { users: [...testCatalog.users, person], subscriptions: [...testCatalog.subscriptions, { environment: 'prod', user: person.email, flows: ['orders'] }] });
    await report('orders', 'SO-LIMIT-1');
    await cycle();
    await report('orders', 'SO-LIMIT-2');
    await cycle();
    // Two cycles with nothing for them: the newest line of their page says so; the API lists what was sent.
    await cycle();
    await cycle();
    const listed = async (limit: number) => ((await call('GET', `/users/${person.email}/messages?limit=${limit}`)).body.messages as { kind: string; cycle: number }[]).map((m) => `${m.kind} ${m.cycle}`);
    const all = await listed(100);
    expect(all).toHaveLength(2);
    expect(await listed(1)).toEqual(all.slice(0, 1));
    expect(await listed(2)).toEqual(all);
  });

  it('S43: a connection going offline is posted to the channels of its subscribers, as its email is sent', async () => {
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'TLS <handshake> & timeout' });
    await env.sleep(5_000);
    await expect.poll(() => receiver.accepted('/slack').length).toBe(1);
    const slack = blockKit.parse(receiver.accepted('/slack')[0]);
    expect(slack.text).toBe('Connection ERP API is offline (Production)');
    expect(JSON.stringify(slack.blocks)).toContain('TLS &lt;handshake&gt; &amp; timeout');
    expect(mail.received.flatMap((m) => m.envelopeTo)).toContain('ops@acme.test');
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await expect.poll(() => receiver.accepted('/slack').length).toBe(2);
    expect(blockKit.parse(receiver.accepted('/slack')[1]).text).toBe('Connection ERP API is back online (Production)');
    expect(connectionEventSchema.safeParse({}).success).toBe(false);
  });

  it('S43: reminders reach each channel once a day, and an assignment the channel the assignee\'s subscriptions go to; neither is emailed to one whose subscriptions go to a channel instead', async () => {
    await applyCatalog(db, { environments: [{ id: 'prod', account: 'acme', name: 'Production', production: true, remindAfter: '1 minute' }] });
    await report('orders', 'SO-OLD', 'Left open <@U123>');
    await cycle();
    await env.sleep(minutes(2));
    receiver.clear();
    const remind = () => herald.temporal.workflow.getHandle(environmentDigestWorkflowId('prod')).executeUpdate(remindNowUpdate);
    await remind();
    const slack = blockKit.parse(receiver.accepted('/slack')[0]);
    expect(slack.text).toBe('1 error open longer than 1 minute in Production');
    expect(JSON.stringify(slack.blocks)).toContain('Left open &lt;@U123&gt;');
    expect(cardText(receiver.accepted('/teams')[0])).toContain('1 error open longer than 1 minute');
    // Email goes to those who kept it: the orders team's subscriptions go to Teams instead.
    await expect.poll(() => mail.received.flatMap((m) => m.envelopeTo)).toContain('ops@acme.test');
    expect(mail.received.flatMap((m) => m.envelopeTo)).not.toContain('orders-team@acme.test');
    // Once a day per channel: a second look the same day posts nothing.
    await remind();
    expect(receiver.received('/slack')).toHaveLength(1);
    expect(receiver.received('/teams')).toHaveLength(1);

    const [id] = await db('errors').where({ trace_key: 'SO-OLD' }).pluck('id');
    await herald.client.assignErrors({ environment: 'prod', errorIds: [id], assignee: 'hooks@acme.test', user: 'ops@acme.test' });
    await expect.poll(() => receiver.received('/hook').length).toBe(1);
    const assigned = assignmentEventSchema.parse(verify(receiver.received('/hook')[0]!));
    expect(assigned.data).toMatchObject({ assignee: 'hooks@acme.test', assignedBy: 'ops@acme.test', count: 1 });
    expect(assigned.data.errors.map((e) => e.traceKey)).toEqual(['SO-OLD']);
    await expect.poll(() => mail.received.flatMap((m) => m.envelopeTo)).toContain('hooks@acme.test');

    // Assigned to the orders team, whose subscriptions go to Teams instead of email: Teams, no email.
    mail.clear();
    await herald.client.assignErrors({ environment: 'prod', errorIds: [id], assignee: 'orders-team@acme.test', user: 'ops@acme.test' });
    await expect.poll(() => receiver.received('/teams').length).toBe(2);
    expect(cardText(receiver.accepted('/teams')[1])).toContain('SO-OLD');
    await env.sleep(5_000);
    const assignments = await db('notifications as d').whereNull('d.channel_id').join('users as u', 'u.id', 'd.user_id').where({ 'd.kind': 'assignment', 'u.email': 'orders-team@acme.test' }).count({ n: '*' });
    expect(Number(assignments[0]!.n)).toBe(0);
    expect(mail.received.flatMap((m) => m.envelopeTo)).not.toContain('orders-team@acme.test');
    await applyCatalog(db, { environments: [{ id: 'prod', account: 'acme', name: 'Production', production: true, remindAfter: '3 days' }] });
  });

  /** Posts these messages as a sending attempt does (notifications/send.ts), on `now`, under `fence` (by default one of its own). */
  const postAsAttempt = async (ids: number[], options: { now: () => Date; fence?: SendFence; concurrency?: number }): Promise<SendTally> => {
    const store = createDeliveryStore(db);
    const fence = options.fence ?? (await store.takeFence(`test/${ids.join(',')}/${Date.now()}`, 'the test'));
    const sending = { db, appUrl: 'https://app.test', secret: testSecret, agents: channelAgents({ allow: ['127.0.0.1'] }), concurrency: options.concurrency };
    const attempt = { fence: async () => fence, carried: [], heartbeat: () => undefined, stopping: new AbortController().signal };
    const [posted] = await sendNotifications({ attempt, store, lanes: [postLane(ids, sending)], retryLimitMs: minutes(60), now: options.now });
    return posted!;
  };

  it('S43, S44: an attempt that dies mid-post leaves its message pending, not lost: the attempt that takes over posts it once, the retry round leaves it to that attempt, and the dead one, were it to wake, posts nothing', async () => {
    receiver.answer('/slack', { delayMs: 3_000 });
    await report('customers', 'CU-DEAD');
    await cycle();
    const [message] = await messagesOf('ops-slack').then((rows) => rows.slice(-1));
    await db('notifications').whereNotNull('channel_id').where({ id: message.id }).update({ status: 'pending', retry_at: null, attempts: 0 });
    // An attempt claims it and dies before it records anything (its worker was killed).
    const store = createDeliveryStore(db);
    const now = new Date();
    const dead = await store.takeFence('digest/prod/dead-test', 'run-1/send#1');
    expect(await store.claimForSending([message.id], dead, [], now)).toEqual(new Set([message.id]));
    receiver.clear();
    // Not the retry round's to post: it is its own activity's, whose next attempt takes over.
    expect((await store.dueDeferred('prod', new Date(now.getTime() + minutes(60)), 10)).map((d) => d.id)).not.toContain(message.id);
    const takeover = await store.takeFence('digest/prod/dead-test', 'run-1/send#2');
    await expect(postAsAttempt([message.id], { now: () => now, fence: dead })).rejects.toThrow(SendingAttemptSupersededError);
    expect(await postAsAttempt([message.id], { now: () => now, fence: takeover })).toEqual({ sent: 1, failed: 0, deferred: 0, cancelled: 0 });
    expect(await postAsAttempt([message.id], { now: () => now, fence: takeover })).toEqual({ sent: 0, failed: 0, deferred: 0, cancelled: 0 });
    expect(receiver.accepted('/slack')).toHaveLength(1);
    expect(await db('notifications').where({ id: message.id }).first('status', 'attempts', 'last_status')).toEqual({ status: 'sent', attempts: 1, last_status: 200 });
  });

  /**
   * A post refused with Retry-After: 600 (the digest of this file tries it again only in ten
   * minutes of the test server's time), and a clock for attempts of the test's own, on the server's
   * time (an activity's clock is), `minutes` after now.
   */
  const refusedPost = async (traceKey: string) => {
    receiver.answer('/slack', { status: 429, retryAfter: '600' });
    await report('customers', traceKey);
    await cycle();
    const [message] = await messagesOf('ops-slack').then((rows) => rows.slice(-1));
    expect(message).toMatchObject({ status: 'pending', attempts: 1, last_status: 429 });
    const serverNow = await env.currentTimeMs();
    return { message, at: (later: number) => () => new Date(serverNow + later) };
  };

  it('S49: channel posts are fenced as emails are (S44): an attempt that lost its fence posts nothing more, and the one that took it posts once', async () => {
    const { message, at } = await refusedPost('CU-FENCE');
    // Due again: the digest's retry attempt takes the fence, then stands still; the next attempt takes it over.
    const fences = createDeliveryStore(db);
    const stalled = await fences.takeFence('digest/prod/fence-test', 'run-1/send#1');
    const takeover = await fences.takeFence('digest/prod/fence-test', 'run-1/send#2');
    receiver.clear();
    await expect(postAsAttempt([message.id], { now: at(minutes(11)), fence: stalled })).rejects.toThrow(SendingAttemptSupersededError);
    expect(receiver.received('/slack')).toEqual([]);
    expect(await db('notifications').whereNotNull('channel_id').where({ id: message.id }).first('status', 'attempts')).toEqual({ status: 'pending', attempts: 1 });
    expect(await postAsAttempt([message.id], { now: at(minutes(11)), fence: takeover })).toEqual({ sent: 1, failed: 0, deferred: 0, cancelled: 0 });
    expect(receiver.accepted('/slack')).toHaveLength(1);
  });

  it('S49: an attempt that stood still between its claim and its post checks its fence before it posts: taken over meanwhile, it posts nothing', async () => {
    // A channel of its own, which no cycle of this file posts to.
    expect((await call('PUT', '/channels/still-slack', { kind: 'slack', url: receiver.url('/still') })).status).toBe(201);
    const channel = (await db('channels').where({ name: 'still-slack' }).first('id')).id;
    const [first, second] = (
      await db('notifications')
        .insert(['a', 'b'].map((n) => ({ channel_id: channel, environment_id: 'prod', kind: 'reminder', key: `reminder:still-${n}:${channel}`, planned_at: new Date(), flow_ids: ['orders'] })))
        .returning('id')
    ).map((row) => Number(row.id));
    const fences = createDeliveryStore(db);
    const stalled = await fences.takeFence('digest/prod/still-test', 'run-1/send#1');
    receiver.clear();
    // One post at a time: the first is posted (slowly), and its mark rides on the second's claim,
    // which stands still (the first's row is locked meanwhile) past the time a claim is trusted;
    // the sending is taken over while it does.
    receiver.answer('/still', { delayMs: 1_000 });
    // What it comes to is awaited at the end, and held from the start: it may fail before the test reads it.
    const standingStill = expect(postAsAttempt([first!, second!], { now: () => new Date(), fence: stalled, concurrency: 1 })).rejects.toThrow(SendingAttemptSupersededError);
    await expect.poll(() => receiver.received('/still').length, { timeout: 10_000 }).toBe(1);
    const locker = await db.transaction();
    await locker('notifications').where({ id: first }).forUpdate().first('id');
    await expect.poll(() => receiver.accepted('/still').length, { timeout: 10_000 }).toBe(1);
    // The second's claim has read the fence, and waits for the first's row.
    const claimsWaiting = async () =>
      Number((await db.raw(`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%send_fences%'`)).rows[0].n);
    await expect.poll(claimsWaiting, { timeout: 10_000 }).toBe(1);
    const takeover = await fences.takeFence('digest/prod/still-test', 'run-1/send#2');
    await new Promise((resolve) => setTimeout(resolve, claimFreshMs + 500));
    await locker.commit();
    await standingStill;
    expect(receiver.accepted('/still')).toHaveLength(1);
    expect(await db('notifications').whereIn('id', [first!, second!]).orderBy('id').pluck('status')).toEqual(['sent', 'pending']);
    // The attempt that took over posts the second once.
    expect(await postAsAttempt([first!, second!], { now: () => new Date(), fence: takeover })).toEqual({ sent: 1, failed: 0, deferred: 0, cancelled: 0 });
    expect(receiver.accepted('/still')).toHaveLength(2);
  }, 60_000);

  it('S33, S49: claims asked while one is on its way go together in the next statement, each answered for its own notification, with the marks of their slots', async () => {
    const channel = (await db('channels').where({ name: 'ops-slack' }).first('id')).id;
    const [first, second, done, sent] = (
      await db('notifications')
        .insert(['a', 'b', 'c', 'd'].map((n) => ({ channel_id: channel, environment_id: 'prod', kind: 'reminder', key: `reminder:together-${n}:${channel}`, planned_at: new Date(), flow_ids: ['orders'] })))
        .returning('id')
    ).map((row) => Number(row.id)) as [number, number, number, number];
    await db('notifications').where({ id: done }).update({ status: 'failed' });
    const real = createDeliveryStore(db);
    // The first statement is held on its way until three more claims have been asked.
    const statements: number[][] = [];
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const store = {
      claimForSending: async (...args: Parameters<typeof real.claimForSending>) => {
        statements.push(args[0]);
        if (statements.length === 1) await held;
        return real.claimForSending(...args);
      },
    };
    const fence = await real.takeFence('digest/prod/together-test', 'run-1/send#1');
    const claims = claimsTogether(store, fence, () => new Date());
    // The second carries the mark of what its slot sent before (`sent`, taken by its receiver).
    const asked = [claims.claim(first, []), claims.claim(second, [{ deliveryId: sent, status: 200, sentAt: new Date().toISOString() }]), claims.claim(done, [])];
    letGo();
    expect(await Promise.all(asked)).toEqual(['claimed', 'claimed', 'done']);
    expect(statements).toEqual([[first], [second, done]]);
    expect(await db('notifications').where({ id: sent }).first('status', 'last_status')).toEqual({ status: 'sent', last_status: 200 });
    expect(await claims.claim(sent, [])).toBe('done');
    // Once another attempt took the fence, every claim is fenced.
    await real.takeFence('digest/prod/together-test', 'run-1/send#2');
    expect(await Promise.all([claims.claim(first, []), claims.claim(second, [])])).toEqual(['fenced', 'fenced']);
  });

  it('S49: posts in flight are bounded as emails are (S33): thirty messages due at once go at most ten at a time, each once, and a crash can repeat no more than those', async () => {
    const channel = (await db('channels').where({ name: 'ops-slack' }).first('id')).id;
    const planned = await db('notifications')
      .insert(Array.from({ length: 30 }, (_, i) => ({ channel_id: channel, environment_id: 'prod', kind: 'reminder', key: `reminder:bound-${i}:${channel}`, planned_at: new Date(), flow_ids: ['orders'] })))
      .returning('id');
    receiver.clear();
    receiver.answer('/slack', ...Array.from({ length: 30 }, () => ({ delayMs: 150 })));
    expect(await postAsAttempt(planned.map((row) => Number(row.id)), { now: () => new Date() })).toEqual({ sent: 30, failed: 0, deferred: 0, cancelled: 0 });
    expect(receiver.accepted('/slack')).toHaveLength(30);
    expect(receiver.mostAtOnce('/slack')).toBeGreaterThan(1);
    expect(receiver.mostAtOnce('/slack')).toBeLessThanOrEqual(10);
  });

  it('S49: PagerDuty: a flow of production with errors open triggers an incident that Herald resolves when none are; an outage triggers one its end resolves; 429 then taken; 400 failed for good in PagerDuty\'s words; reminders not posted', async () => {
    const pagerDuty = await startPagerDutyReceiver();
    const routingKey = 'R0UT1NGKEY0F32LETTERSANDDIGITS00';
    pagerDuty.keys.add(routingKey);
    // The integration key is given, checked, and never answered.
    expect((await call('PUT', '/channels/pager', { kind: 'pagerduty', url: pagerDuty.url })).body.problems).toEqual([
      { field: 'secret', message: 'a new pagerduty channel needs its secret (its integration key)' },
    ]);
    expect((await call('PUT', '/channels/pager', { kind: 'pagerduty', url: pagerDuty.url, secret: 'whsec_short' })).body.problems).toEqual([
      { field: 'secret', message: 'must be the integration key of a PagerDuty Events API v2 integration: 32 letters and digits' },
    ]);
    const made = await call('PUT', '/channels/pager', { kind: 'pagerduty', url: pagerDuty.url, secret: routingKey });
    expect(made.status).toBe(201);
    expect(JSON.stringify(made.body) + JSON.stringify((await call('GET', '/channels')).body)).not.toContain(routingKey);
    // On call: the orders flow and the ERP connection, to PagerDuty only.
    await applyCatalog(db, {
      users: [{ account: 'acme', email: 'oncall@acme.test', name: 'On call', role: 'monitor' }],
      subscriptions: [{ environment: 'prod', user: 'oncall@acme.test', flows: ['orders'], connections: ['erp'] }],
    });
    expect((await call('PUT', '/environments/prod/targets/oncall@acme.test', { email: false, channel: 'pager' })).status).toBe(200);
    const flowKey = 'herald/acme/prod/flow/orders';
    const accepted = () => pagerDuty.events().filter((e) => e.status === 202).map((e) => e.event);

    // Errors open after a cycle: one incident for the flow, whatever their number.
    await report('orders', 'SO-PD-1', 'Customer not found');
    await report('orders', 'SO-PD-2', 'Customer not found');
    await cycle();
    expect(accepted()).toEqual([
      expect.objectContaining({
        routing_key: routingKey,
        event_action: 'trigger',
        dedup_key: flowKey,
        payload: expect.objectContaining({ summary: 'Orders (Shop to ERP): 2 open errors in Production', source: 'herald', severity: 'error', component: 'Orders', group: 'Production' }),
        links: [{ href: expect.stringMatching(/^https:\/\/app\.herald\.test\/environments\/prod\/errors\?status=open&flow=orders$/), text: 'Open in Herald' }],
      }),
    ]);
    expect(pagerDuty.incident(flowKey)).toMatchObject({ status: 'triggered', alerts: 1 });

    // 429, then taken when the digest tries again: the same event, the same incident.
    pagerDuty.refuse(429);
    await report('orders', 'SO-PD-3', 'Timeout');
    const refused = await cycle();
    expect(refused.channelMessages).toMatchObject({ deferred: 1 });
    expect(refused.notifications?.pagerduty).toEqual({ sent: 0, failed: 0, deferred: 1, cancelled: 0 });
    await env.sleep(minutes(2));
    await expect.poll(() => accepted().length).toBe(2);
    expect(accepted()[1]).toMatchObject({ event_action: 'trigger', dedup_key: flowKey, payload: { summary: 'Orders (Shop to ERP): 3 open errors in Production' } });
    expect(pagerDuty.incident(flowKey)).toMatchObject({ status: 'triggered', alerts: 2 });

    // None open: Herald resolves the incident.
    const open = await db('errors').where({ flow_id: 'orders', status: 'open' }).pluck('id');
    await herald.client.resolveErrors({ environment: 'prod', errorIds: open.map(Number), user: 'ops@acme.test' });
    await cycle();
    expect(accepted().at(-1)).toEqual({ routing_key: routingKey, event_action: 'resolve', dedup_key: flowKey, client: 'Herald', client_url: expect.any(String) });
    expect(pagerDuty.incident(flowKey)).toMatchObject({ status: 'resolved' });

    // An outage: triggered while it lasts, resolved when it ends.
    const connectionKey = 'herald/acme/prod/connection/erp';
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'offline', reason: 'TLS handshake timeout' });
    await expect.poll(() => pagerDuty.incident(connectionKey)?.status, { timeout: 30_000 }).toBe('triggered');
    expect(pagerDuty.incident(connectionKey)!.summary).toBe('Connection ERP API is offline in Production: TLS handshake timeout');
    await herald.client.reportConnectionStatus({ environment: 'prod', connection: 'erp', status: 'online' });
    await expect.poll(() => pagerDuty.incident(connectionKey)?.status, { timeout: 30_000 }).toBe('resolved');

    // A key PagerDuty does not know: refused for good, in its words, as "messages" shows it.
    await call('PUT', '/channels/pager', { kind: 'pagerduty', url: pagerDuty.url, secret: 'UNKN0WNKEY0F32LETTERSANDDIGITS00' });
    await report('orders', 'SO-PD-4', 'Customer not found');
    expect((await cycle()).notifications?.pagerduty).toEqual({ sent: 0, failed: 1, deferred: 0, cancelled: 0 });
    const [failed] = await messagesOf('pager').then((rows) => rows.slice(-1));
    expect(failed).toMatchObject({ status: 'failed', last_status: 400, last_error: 'PagerDuty refused the event (HTTP 400): Event object is invalid (Invalid routing key)' });
    const listed = (await call('GET', '/messages')).body.messages as { channel: string; status: string; lastError: string }[];
    expect(listed.find((m) => m.channel === 'pager' && m.status === 'failed')?.lastError).toMatch(/Invalid routing key/);

    // Reminders are people's business: not posted, and "messages" says why.
    await applyCatalog(db, { environments: [{ id: 'prod', account: 'acme', name: 'Production', production: true, remindAfter: '1 minute' }] });
    await env.sleep(minutes(2));
    const posted = pagerDuty.events().length;
    await herald.temporal.workflow.getHandle(environmentDigestWorkflowId('prod')).executeUpdate(remindNowUpdate);
    const [reminder] = await messagesOf('pager').then((rows) => rows.filter((m) => m.kind === 'reminder'));
    expect(reminder).toMatchObject({ status: 'cancelled', last_error: expect.stringMatching(/^not sent: PagerDuty is told of connections going offline and back/) });
    expect(pagerDuty.events()).toHaveLength(posted);

    await applyCatalog(db, { environments: [{ id: 'prod', account: 'acme', name: 'Production', production: true, remindAfter: '3 days' }] });
    expect((await call('DELETE', '/users/oncall@acme.test')).status).toBe(200);
    expect((await call('DELETE', '/channels/pager')).status).toBe(200);
  });
});
